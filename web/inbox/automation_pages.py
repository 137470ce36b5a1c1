"""The automation admin page: rules in their order (enable, reorder, delete, dry run), a form
that builds a rule without writing JSON, and the run log. Changes go through the REST API."""

from __future__ import annotations

from litestar import Response, get

from hub.auth.permissions import Permission
from hub.automation import rules, runlog
from hub.automation.actions import describe
from hub.automation.validation import parse
from web.inbox.render import html
from web.inbox.viewer import Viewer


def _summary(rule: dict[str, object]) -> list[str]:
    raw = {k: v for k, v in rule.items() if k not in ("id", "created_at", "updated_at")}
    try:
        parsed, _ = parse(raw)
    except ValueError:
        return []
    return [describe(a) for a in parsed.actions]


@get("/admin/automation", permission=Permission.MANAGE_AUTOMATION)
async def automation_page(viewer: Viewer, rule_id: int | None = None) -> Response[str]:
    """`?rule_id=` shows that rule's runs only (the rule's own log)."""
    viewer.require(Permission.MANAGE_AUTOMATION)
    rule_list = await rules.list_rules()
    context = viewer.context(
        section="automation",
        rules=[{**r, "summary": _summary(r)} for r in rule_list],
        runs=await runlog.list_runs(rule_id=rule_id, limit=50),
        run_rule=next((r for r in rule_list if r["id"] == rule_id), None),
    )
    return html("admin/automation.html", context, host=viewer.host)


handlers = [automation_page]
