"""Automation rules (create, edit, reorder, dry run) and their run log."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import delete, get, post, put

from hub.auth import audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.automation import engine, rules, runlog


class Order(msgspec.Struct):
    rule_ids: list[int]


class Enabled(msgspec.Struct):
    enabled: bool


class TestTarget(msgspec.Struct):
    conversation_id: int


async def _audit(
    action: str,
    principal: Principal,
    rule_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    name = (after or before or {}).get("name")
    await audit.record(
        action,
        actor_id=principal.agent.id,
        target_type="automation_rule",
        target_id=rule_id,
        data={"name": name} | audit.changes(before, after, skip=_VOLATILE),
    )


# Fields that change on every write or are not the rule's settings (reorder is logged apart).
_VOLATILE = ("id", "created_at", "updated_at", "position")


@get("/api/v1/automation-rules", tags=["automation"], permission=Permission.MANAGE_AUTOMATION)
async def list_rules(principal: Principal) -> list[dict[str, Any]]:
    """Every rule, in the order they run."""
    return await rules.list_rules()


@post(
    "/api/v1/automation-rules",
    tags=["automation"],
    status_code=201,
    permission=Permission.MANAGE_AUTOMATION,
)
async def create_rule(principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """A rule: name, trigger, conditions (all / any / not, nested), actions, scope. A bad one is
    refused (422) with the path of the bad node, e.g. `conditions.all[2].value: expected a number`."""
    saved = await rules.save_rule(data)
    await _audit("automation_rule.created", principal, saved["id"], None, saved)
    return saved


@get(
    "/api/v1/automation-rules/{rule_id:int}",
    tags=["automation"],
    permission=Permission.MANAGE_AUTOMATION,
)
async def get_rule(principal: Principal, rule_id: int) -> dict[str, Any]:
    return await rules.get_rule(rule_id)


@put(
    "/api/v1/automation-rules/{rule_id:int}",
    tags=["automation"],
    permission=Permission.MANAGE_AUTOMATION,
)
async def update_rule(principal: Principal, rule_id: int, data: dict[str, Any]) -> dict[str, Any]:
    before = await rules.get_rule(rule_id)
    saved = await rules.save_rule(data, rule_id)
    await _audit("automation_rule.updated", principal, rule_id, before, saved)
    return saved


@put(
    "/api/v1/automation-rules/{rule_id:int}/enabled",
    tags=["automation"],
    permission=Permission.MANAGE_AUTOMATION,
)
async def set_enabled(principal: Principal, rule_id: int, data: Enabled) -> dict[str, Any]:
    before = await rules.get_rule(rule_id)
    saved = await rules.set_enabled(rule_id, data.enabled)
    await _audit("automation_rule.updated", principal, rule_id, before, saved)
    return saved


@delete(
    "/api/v1/automation-rules/{rule_id:int}",
    tags=["automation"],
    status_code=204,
    permission=Permission.MANAGE_AUTOMATION,
)
async def delete_rule(principal: Principal, rule_id: int) -> None:
    """The rule goes; its runs stay in the log (with the rule's name)."""
    before = await rules.get_rule(rule_id)
    await rules.delete_rule(rule_id)
    await _audit("automation_rule.deleted", principal, rule_id, before, None)


@put("/api/v1/automation-rules/order", tags=["automation"], permission=Permission.MANAGE_AUTOMATION)
async def reorder(principal: Principal, data: Order) -> list[dict[str, Any]]:
    """Every rule's id, in the new order."""
    before = [r["id"] for r in await rules.list_rules()]
    ordered = await rules.reorder(data.rule_ids)
    await audit.record(
        "automation_rule.reordered",
        actor_id=principal.agent.id,
        target_type="automation_rule",
        data={"before": before, "after": [r["id"] for r in ordered]},
    )
    return ordered


@post(
    "/api/v1/automation-rules/{rule_id:int}/test",
    tags=["automation"],
    status_code=200,
    permission=Permission.MANAGE_AUTOMATION,
)
async def test_rule(principal: Principal, rule_id: int, data: TestTarget) -> dict[str, Any]:
    """Dry run against a conversation as it is now: which conditions hold, what the actions
    would be. Nothing is changed and nothing is logged."""
    return await engine.dry_run(await rules.compiled(rule_id), data.conversation_id)


@get("/api/v1/automation-runs", tags=["automation"], permission=Permission.MANAGE_AUTOMATION)
async def list_runs(
    principal: Principal,
    rule_id: int | None = None,
    conversation_id: int | None = None,
    status: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The run log, newest first: each rule that matched, its conditions, actions and results."""
    return await runlog.list_runs(
        rule_id=rule_id,
        conversation_id=conversation_id,
        status=status,
        before=before,
        limit=limit,
    )


handlers = [
    list_rules,
    create_rule,
    get_rule,
    update_rule,
    set_enabled,
    delete_rule,
    reorder,
    test_rule,
    list_runs,
]
