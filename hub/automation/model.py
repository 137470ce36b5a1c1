"""What a rule is: its trigger, condition leaves and actions as msgspec structs.

The condition tree itself ({"all": [...]}, {"any": [...]}, {"not": {...}}) is walked by
`hub.automation.validation`, which hands each leaf to msgspec with the leaf's path, so an error
names the node: `conditions.all[2].value: expected a number`. Leaves and actions are tagged
unions (`field`, `type`), which is what lets msgspec say which kinds exist.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Minutes = Annotated[int, Meta(ge=1, le=525_600)]
Text = Annotated[str, Meta(min_length=1, max_length=10_000)]
Ids = Annotated[list[int], Meta(max_length=500)]
Strings = Annotated[list[Annotated[str, Meta(min_length=1, max_length=200)]], Meta(max_length=500)]

STATUSES = ("open", "pending", "snoozed", "resolved", "closed")
PRIORITIES = ("none", "low", "medium", "high", "urgent")
Status = Literal["open", "pending", "snoozed", "resolved", "closed"]
Priority = Literal["none", "low", "medium", "high", "urgent"]
UPDATE_FIELDS = ("status", "priority", "assignee", "team", "tags", "snoozed_until")


class _Struct(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="type"):
    pass


# --- triggers ---------------------------------------------------------------------------------


class ConversationCreated(_Struct, tag="conversation.created", kw_only=True):
    pass


class MessageCreated(_Struct, tag="message.created", kw_only=True):
    direction: Literal["inbound", "outbound", "any"] = "inbound"


class ConversationUpdated(_Struct, tag="conversation.updated", kw_only=True):
    # Any of these changed; empty: any change at all.
    fields: list[Literal["status", "priority", "assignee", "team", "tags", "snoozed_until"]] = []


class Assigned(_Struct, tag="conversation.assigned", kw_only=True):
    pass


class Unassigned(_Struct, tag="conversation.unassigned", kw_only=True):
    pass


class SlaWarning(_Struct, tag="sla.warning", kw_only=True):
    pass


class SlaBreached(_Struct, tag="sla.breached", kw_only=True):
    pass


class CrmUpdated(_Struct, tag="crm.updated", kw_only=True):
    pass


class CsatReceived(_Struct, tag="csat.received", kw_only=True):
    pass


class _Timed(_Struct, kw_only=True):
    minutes: Minutes
    # Count only the business time of this calendar (SLA business hours); None: wall time.
    business_hours_id: int | None = None


class NoCustomerMessage(_Timed, tag="time.no_customer_message", kw_only=True):
    """The agent spoke last and the customer has said nothing since, for `minutes`."""


class NoAgentReply(_Timed, tag="time.no_agent_reply", kw_only=True):
    """The customer is waiting for a reply (open), for `minutes`."""


class PendingFor(_Timed, tag="time.pending", kw_only=True):
    pass


class ResolvedFor(_Timed, tag="time.resolved", kw_only=True):
    pass


EventTrigger = (
    ConversationCreated
    | MessageCreated
    | ConversationUpdated
    | Assigned
    | Unassigned
    | SlaWarning
    | SlaBreached
    | CrmUpdated
    | CsatReceived
)
TimeTrigger = NoCustomerMessage | NoAgentReply | PendingFor | ResolvedFor
Trigger = EventTrigger | TimeTrigger
TIME_TRIGGERS = (NoCustomerMessage, NoAgentReply, PendingFor, ResolvedFor)


# --- condition leaves -------------------------------------------------------------------------


class _Leaf(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="field"):
    pass


SetOp = Literal["in", "not_in"]
OptionalSetOp = Literal["in", "not_in", "is_set", "not_set"]
TagOp = Literal["has_any", "has_all", "has_none"]
TextOp = Literal["contains", "not_contains", "matches", "not_matches"]
NumberOp = Literal["eq", "ne", "gt", "gte", "lt", "lte"]


class Channel(_Leaf, tag="channel", kw_only=True):
    op: SetOp = "in"
    value: Strings


class Inbox(_Leaf, tag="inbox", kw_only=True):
    op: SetOp = "in"
    value: Ids


class Team(_Leaf, tag="team", kw_only=True):
    op: OptionalSetOp = "in"
    value: Ids = []


class Assignee(_Leaf, tag="assignee", kw_only=True):
    op: OptionalSetOp = "in"
    value: Ids = []


class StatusIs(_Leaf, tag="status", kw_only=True):
    op: SetOp = "in"
    value: list[Status]


class PriorityIs(_Leaf, tag="priority", kw_only=True):
    op: SetOp = "in"
    value: list[Priority]


class Tags(_Leaf, tag="tags", kw_only=True):
    op: TagOp = "has_any"
    value: Strings


class MessageText(_Leaf, tag="message.text", kw_only=True):
    op: TextOp = "contains"
    value: Text
    case_sensitive: bool = False


class Subject(_Leaf, tag="subject", kw_only=True):
    op: TextOp = "contains"
    value: Text
    case_sensitive: bool = False


class SenderDomain(_Leaf, tag="sender.domain", kw_only=True):
    op: SetOp = "in"
    value: Strings


class ContactAttribute(_Leaf, tag="contact.attribute", kw_only=True):
    key: Name
    op: Literal["eq", "ne", "contains", "is_set", "not_set", "gt", "lt"] = "eq"
    value: str | float | bool | None = None


class BusinessHours(_Leaf, tag="business_hours", kw_only=True):
    business_hours_id: int
    value: bool = True  # True: within business hours now


class SlaState(_Leaf, tag="sla.state", kw_only=True):
    op: SetOp = "in"
    value: list[Literal["none", "on_track", "at_risk", "breached"]]


class CrmCustomerStatus(_Leaf, tag="crm.customer_status", kw_only=True):
    op: SetOp = "in"
    value: Strings


class _Number(_Leaf, kw_only=True):
    op: NumberOp = "gte"
    value: float


class CrmOverdueCount(_Number, tag="crm.overdue_invoice_count", kw_only=True):
    pass


class CrmOverdueAmount(_Number, tag="crm.overdue_amount", kw_only=True):
    pass


class CrmServiceStatus(_Leaf, tag="crm.service_status", kw_only=True):
    op: TagOp = "has_any"
    value: Strings


class CrmTariff(_Leaf, tag="crm.tariff", kw_only=True):
    """Matches a service's description or tariff id (as text)."""

    op: TagOp = "has_any"
    value: Strings


class CsatRating(_Number, tag="csat.rating", kw_only=True):
    pass


Leaf = (
    Channel
    | Inbox
    | Team
    | Assignee
    | StatusIs
    | PriorityIs
    | Tags
    | MessageText
    | Subject
    | SenderDomain
    | ContactAttribute
    | BusinessHours
    | SlaState
    | CrmCustomerStatus
    | CrmOverdueCount
    | CrmOverdueAmount
    | CrmServiceStatus
    | CrmTariff
    | CsatRating
)


# --- actions ----------------------------------------------------------------------------------


class AssignAgent(_Struct, tag="assign_agent", kw_only=True):
    agent_id: int


class AssignTeam(_Struct, tag="assign_team", kw_only=True):
    team_id: int
    # Then let the team's assignment policy (round robin, least loaded) pick an agent now.
    run_policy: bool = False


class Unassign(_Struct, tag="unassign", kw_only=True):
    pass


class AddTags(_Struct, tag="add_tags", kw_only=True):
    tags: Strings


class RemoveTags(_Struct, tag="remove_tags", kw_only=True):
    tags: Strings


class SetPriority(_Struct, tag="set_priority", kw_only=True):
    priority: Priority


class SetStatus(_Struct, tag="set_status", kw_only=True):
    status: Status
    snooze_minutes: Minutes | None = None  # with status "snoozed"


class ApplySla(_Struct, tag="apply_sla", kw_only=True):
    policy_id: int | None


class PrivateNote(_Struct, tag="private_note", kw_only=True):
    text: Text


class Notify(_Struct, tag="notify", kw_only=True):
    agent_ids: Ids = []
    team_id: int | None = None
    title: Name
    body: Annotated[str, Meta(max_length=2000)] = ""


class MarkSpam(_Struct, tag="mark_spam", kw_only=True):
    """Tag "spam" and close."""


class ReplyMacro(_Struct, tag="reply_macro", kw_only=True):
    """Send a macro's rendered reply (and run its actions), the hub as the author. Where the
    channel refuses free text (WhatsApp outside its 24-hour window) the action is skipped."""

    macro_id: int


class SetRequirements(_Struct, tag="set_requirements", kw_only=True):
    """Skills an agent needs to be assigned the conversation by a team's policy (hub.routing.
    requirements): `replace` sets them, `add` keeps the inbox's and the tags' and adds these."""

    requirements: Strings
    mode: Literal["replace", "add"] = "add"


class ReplyTemplate(_Struct, tag="reply_template", kw_only=True):
    """Send one of the inbox's approved templates (WhatsApp), the hub as the author: the reply
    that works when the 24-hour window is closed. `variables` fill {{1}}, {{2}}, … in order and
    may use macro variables (`{{ contact.name }}`). An inbox without that template: skipped."""

    name: Name
    variables: Strings = []


class SendWebhook(_Struct, tag="send_webhook", kw_only=True):
    """Queue an `automation.rule` delivery to one outgoing webhook subscription."""

    subscription_id: int


Action = (
    AssignAgent
    | AssignTeam
    | Unassign
    | AddTags
    | RemoveTags
    | SetPriority
    | SetStatus
    | ApplySla
    | PrivateNote
    | Notify
    | MarkSpam
    | ReplyMacro
    | SetRequirements
    | ReplyTemplate
    | SendWebhook
)


# --- the rule ---------------------------------------------------------------------------------


class Rule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    enabled: bool = True
    trigger: Trigger
    # {"all": [...]} / {"any": [...]} / {"not": {...}} / a leaf; empty: always.
    conditions: dict[str, Any] = {}
    actions: Annotated[list[Action], Meta(min_length=1, max_length=50)]
    inbox_ids: Ids | None = None  # None: every inbox
    stop_processing: bool = False
    position: int | None = None  # None: after the others


def tag_of(value: msgspec.Struct) -> str:
    """The tag a trigger, leaf or action is known by ("message.created", "set_priority")."""
    return str(value.__struct_config__.tag)
