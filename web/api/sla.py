"""SLA administration (business hours, policies, where they apply) and a conversation's policy."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import delete, get, post, put

from hub.auth import access, audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.sla import policies, tracking
from hub.sla.policies import HoursInput, PolicyInput


class PolicyChoice(msgspec.Struct):
    policy_id: int | None


async def _audit(
    principal: Principal, action: str, target_type: str, target_id: int, data: Any = None
) -> None:
    """SLA settings changes go to the audit log, with what was sent."""
    await audit.record(
        action, actor_id=principal.agent.id, target_type=target_type, target_id=target_id,
        data=msgspec.to_builtins(data) if data is not None else None,
    )  # fmt: skip


@get("/api/v1/business-hours", tags=["sla"], permission=Permission.MANAGE_SLA)
async def list_hours(principal: Principal) -> list[dict[str, Any]]:
    return await policies.list_hours()


@post("/api/v1/business-hours", tags=["sla"], status_code=201, permission=Permission.MANAGE_SLA)
async def create_hours(principal: Principal, data: HoursInput) -> dict[str, Any]:
    """Weekly hours per weekday (several intervals a day), holidays, or an iCalendar file of them."""
    saved = await policies.save_hours(data)
    await _audit(principal, "sla.hours_created", "business_hours", saved["id"], data)
    return saved


@get("/api/v1/business-hours/{hours_id:int}", tags=["sla"], permission=Permission.MANAGE_SLA)
async def get_hours(principal: Principal, hours_id: int) -> dict[str, Any]:
    return await policies.get_hours(hours_id)


@put("/api/v1/business-hours/{hours_id:int}", tags=["sla"], permission=Permission.MANAGE_SLA)
async def update_hours(principal: Principal, hours_id: int, data: HoursInput) -> dict[str, Any]:
    saved = await policies.save_hours(data, hours_id)
    await _audit(principal, "sla.hours_updated", "business_hours", hours_id, data)
    return saved


@delete(
    "/api/v1/business-hours/{hours_id:int}",
    tags=["sla"],
    status_code=204,
    permission=Permission.MANAGE_SLA,
)
async def delete_hours(principal: Principal, hours_id: int) -> None:
    await policies.delete_hours(hours_id)
    await _audit(principal, "sla.hours_deleted", "business_hours", hours_id)


@get("/api/v1/sla-policies", tags=["sla"], permission=Permission.MANAGE_SLA)
async def list_policies(principal: Principal) -> list[dict[str, Any]]:
    return await policies.list_policies()


@post("/api/v1/sla-policies", tags=["sla"], status_code=201, permission=Permission.MANAGE_SLA)
async def create_policy(principal: Principal, data: PolicyInput) -> dict[str, Any]:
    """Targets in minutes per priority ('default' for the rest); business hours or 24/7."""
    saved = await policies.save_policy(data)
    await _audit(principal, "sla.policy_created", "sla_policy", saved["id"], data)
    return saved


@get("/api/v1/sla-policies/{policy_id:int}", tags=["sla"], permission=Permission.MANAGE_SLA)
async def get_policy(principal: Principal, policy_id: int) -> dict[str, Any]:
    return await policies.get_policy(policy_id)


@put("/api/v1/sla-policies/{policy_id:int}", tags=["sla"], permission=Permission.MANAGE_SLA)
async def update_policy(principal: Principal, policy_id: int, data: PolicyInput) -> dict[str, Any]:
    """Conversations keep the policy they got: running deadlines do not move with this edit."""
    saved = await policies.save_policy(data, policy_id)
    await _audit(principal, "sla.policy_updated", "sla_policy", policy_id, data)
    return saved


@delete(
    "/api/v1/sla-policies/{policy_id:int}",
    tags=["sla"],
    status_code=204,
    permission=Permission.MANAGE_SLA,
)
async def delete_policy(principal: Principal, policy_id: int) -> None:
    await policies.delete_policy(policy_id)
    await _audit(principal, "sla.policy_deleted", "sla_policy", policy_id)


@put(
    "/api/v1/inboxes/{inbox_id:int}/sla-policy",
    tags=["sla"],
    status_code=204,
    permission=Permission.MANAGE_SLA,
)
async def set_inbox_policy(principal: Principal, inbox_id: int, data: PolicyChoice) -> None:
    """The policy new conversations of this inbox get (unless their team has one)."""
    await policies.assign(inbox_id=inbox_id, policy_id=data.policy_id)
    await _audit(principal, "sla.inbox_policy", "inbox", inbox_id, data)


@put(
    "/api/v1/teams/{team_id:int}/sla-policy",
    tags=["sla"],
    status_code=204,
    permission=Permission.MANAGE_SLA,
)
async def set_team_policy(principal: Principal, team_id: int, data: PolicyChoice) -> None:
    """The policy conversations get when they are created in, or moved to, this team."""
    await policies.assign(team_id=team_id, policy_id=data.policy_id)
    await _audit(principal, "sla.team_policy", "team", team_id, data)


@put(
    "/api/v1/conversations/{conversation_id:int}/sla",
    tags=["sla", "conversations"],
    permission=Permission.UPDATE_CONVERSATIONS,
)
async def set_conversation_policy(
    principal: Principal, conversation_id: int, data: PolicyChoice
) -> dict[str, Any]:
    """Apply a policy to one conversation (null removes it); its targets run from the
    conversation's creation and replies already sent count."""
    await access.check_conversation(principal.agent, conversation_id)
    return await tracking.set_policy(conversation_id, data.policy_id)


handlers = [
    list_hours,
    create_hours,
    get_hours,
    update_hours,
    delete_hours,
    list_policies,
    create_policy,
    get_policy,
    update_policy,
    delete_policy,
    set_inbox_policy,
    set_team_policy,
    set_conversation_policy,
]
