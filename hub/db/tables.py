"""The core model as Piccolo tables. Every durable fact of the hub is a row here.

Foreign keys are chosen deliberately (Piccolo defaults to CASCADE): history (messages, events)
never disappears because a person or a team was removed.
"""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    BigInt,
    BigSerial,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.constraints import Unique
from piccolo.table import Table


class Agent(Table):
    id = Serial(primary_key=True)
    email = Varchar(length=320, unique=True)
    name = Varchar(length=200)
    password_hash = Text(default="")
    role = Varchar(
        length=40, default="agent"
    )  # a role.key: system or admin-defined (hub.auth.roles)
    active = Boolean(default=True)
    availability = Varchar(length=20, default="available")
    created_at = Timestamptz(default=TimestamptzNow())


class Team(Table):
    id = Serial(primary_key=True)
    name = Varchar(length=200, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())


class TeamMember(Table):
    id = Serial(primary_key=True)
    team = ForeignKey(Team, on_delete=OnDelete.cascade, null=False)
    agent = ForeignKey(Agent, on_delete=OnDelete.cascade, null=False)

    uq_team_member = Unique(["team", "agent"])


class Inbox(Table):
    id = Serial(primary_key=True)
    name = Varchar(length=200)
    channel = Varchar(length=40, index=True)
    # Channel settings as JSON encrypted with the instance secret (hub.system.crypto); never returned.
    config_encrypted = Text(default="")
    # Public, unguessable: webhook paths and the widget's data-inbox attribute use it.
    public_token = Varchar(length=64, unique=True)
    team = ForeignKey(Team, on_delete=OnDelete.set_null, null=True)
    active = Boolean(default=True)
    # Copied from the adapter at creation: a reply window (WhatsApp's 24 h) the SQL can see.
    reply_window_hours = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class InboxMember(Table):
    id = Serial(primary_key=True)
    inbox = ForeignKey(Inbox, on_delete=OnDelete.cascade, null=False)
    agent = ForeignKey(Agent, on_delete=OnDelete.cascade, null=False)

    uq_inbox_member = Unique(["inbox", "agent"])


class Contact(Table):
    id = Serial(primary_key=True)
    name = Varchar(length=300, default="")
    attributes = JSONB(default={})
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ContactIdentity(Table):
    id = Serial(primary_key=True)
    contact = ForeignKey(Contact, on_delete=OnDelete.cascade, null=False)
    kind = Varchar(length=30)  # email | phone | whatsapp | telegram | webchat | splynx | api
    address = Varchar(length=320)  # normalised: lower-cased email, E.164 phone, provider id
    verified = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())

    uq_identity = Unique(["kind", "address"])


class Conversation(Table):
    id = Serial(primary_key=True)
    # The human reference number shown as #ref (`ref` itself is a Piccolo method name).
    ref_number = BigSerial(unique=True, db_column_name="ref")
    inbox = ForeignKey(Inbox, on_delete=OnDelete.restrict, null=False)
    contact = ForeignKey(Contact, on_delete=OnDelete.restrict, null=False)
    status = Varchar(length=20, default="open")
    priority = Varchar(length=20, default="none")
    subject = Text(default="")
    assignee = ForeignKey(Agent, on_delete=OnDelete.set_null, null=True)
    team = ForeignKey(Team, on_delete=OnDelete.set_null, null=True)
    snoozed_until = Timestamptz(null=True, default=None)
    unread_count = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    last_message_at = Timestamptz(default=TimestamptzNow())
    last_inbound_at = Timestamptz(null=True, default=None)
    waiting_since = Timestamptz(null=True, default=None)
    first_reply_at = Timestamptz(null=True, default=None)
    resolved_at = Timestamptz(null=True, default=None)
    meta = JSONB(default={})


class Message(Table):
    id = BigSerial(primary_key=True)
    conversation = ForeignKey(Conversation, on_delete=OnDelete.cascade, null=False)
    inbox = ForeignKey(Inbox, on_delete=OnDelete.restrict, null=False)
    kind = Varchar(length=10, default="message")  # message | note | event
    direction = Varchar(length=3, null=True, default=None)  # in | out
    author_type = Varchar(length=10, default="system")  # contact | agent | system
    author_id = BigInt(null=True, default=None)
    text = Text(default="")
    html = Text(default="")
    status = Varchar(length=10, default="received")
    error = Text(default="")
    # Idempotency key of inbound messages and the provider's id of sent ones.
    provider_message_id = Varchar(length=500, null=True, default=None)
    attempts = Integer(default=0)
    meta = JSONB(default={})
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)

    uq_message_provider_id = Unique(["inbox", "provider_message_id"])


class Attachment(Table):
    id = Serial(primary_key=True)
    message = ForeignKey(Message, on_delete=OnDelete.cascade, null=False)
    sha256 = Varchar(length=64, index=True)
    filename = Varchar(length=500, default="")
    content_type = Varchar(length=200, default="application/octet-stream")
    size = BigInt(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class Tag(Table):
    id = Serial(primary_key=True)
    name = Varchar(length=100, unique=True)


class ConversationTag(Table):
    id = Serial(primary_key=True)
    conversation = ForeignKey(Conversation, on_delete=OnDelete.cascade, null=False)
    tag = ForeignKey(Tag, on_delete=OnDelete.cascade, null=False)

    uq_conversation_tag = Unique(["conversation", "tag"])


class Event(Table):
    """What agents and visitors see change, in order: realtime clients resume from `id`."""

    id = BigSerial(primary_key=True)
    type = Varchar(length=60)
    conversation = ForeignKey(Conversation, on_delete=OnDelete.cascade, null=True)
    inbox = ForeignKey(Inbox, on_delete=OnDelete.cascade, null=True)
    actor_type = Varchar(length=10, default="system")
    actor_id = BigInt(null=True, default=None)
    data = JSONB(default={})
    created_at = Timestamptz(default=TimestamptzNow())


class AuditLog(Table):
    id = BigSerial(primary_key=True)
    actor_type = Varchar(length=10, default="system")
    actor_id = BigInt(null=True, default=None)
    action = Varchar(length=60, index=True)
    target_type = Varchar(length=40, default="")
    target_id = BigInt(null=True, default=None)
    data = JSONB(default={})
    ip = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class ApiKey(Table):
    id = Serial(primary_key=True)
    agent = ForeignKey(Agent, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=200)
    prefix = Varchar(length=16)  # shown in lists so an owner can tell keys apart
    key_hash = Varchar(length=64, unique=True)  # sha256 of the whole key
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class AgentSession(Table):
    id = Serial(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    agent = ForeignKey(Agent, on_delete=OnDelete.cascade, null=False)
    csrf_token = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(index=True)
    ip = Varchar(length=64, default="")
    user_agent = Text(default="")
    last_seen_at = Timestamptz(default=TimestamptzNow())
    method = Text(default="password")  # password | oidc:<provider> (+ "+totp")


class LoginFailure(Table):
    """Failed logins, counted per key (email and client address) for rate limiting."""

    id = Serial(primary_key=True)
    key = Varchar(length=400, index=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class ChannelState(Table):
    """What a pull channel remembers between polls (Telegram offset, IMAP UIDVALIDITY/UID, …)."""

    id = Serial(primary_key=True)
    inbox = ForeignKey(Inbox, on_delete=OnDelete.cascade, null=False, unique=True)
    state = JSONB(default={})
    updated_at = Timestamptz(default=TimestamptzNow())


class RawPayload(Table):
    """An inbound payload the hub could not process, kept verbatim for inspection and replay."""

    id = BigSerial(primary_key=True)
    inbox = ForeignKey(Inbox, on_delete=OnDelete.cascade, null=True)
    channel = Varchar(length=40)
    headers = JSONB(default={})
    body = Bytea(default=b"")
    error = Text(default="")
    received_at = Timestamptz(default=TimestamptzNow(), index=True)


TABLES: list[type[Table]] = [
    Agent,
    Team,
    TeamMember,
    Inbox,
    InboxMember,
    Contact,
    ContactIdentity,
    Conversation,
    Message,
    Attachment,
    Tag,
    ConversationTag,
    Event,
    AuditLog,
    ApiKey,
    AgentSession,
    LoginFailure,
    ChannelState,
    RawPayload,
]
