"""The `reply_template` action: an approved WhatsApp template sent by a rule.

Free text (reply_macro) is refused outside WhatsApp's 24-hour window; a template is not, so a
rule can still answer then. The template must be one the inbox lists (its `templates` setting,
adapters/whatsapp/templates.py): elsewhere the action is skipped with a timeline line, as
reply_macro is. The message goes through the outbox like an agent's template reply, with the
template's approved body (variables filled in) as its text for the timeline.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from hub.automation import model
from hub.automation.context import Facts
from hub.db.engine import connection_pool
from hub.macros.render import render
from hub.outbox import replies

Line = Callable[[Facts, str, dict[str, Any], dict[str, Any]], Awaitable[None]]
_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


def _shown(body: str, values: list[str], name: str) -> str:
    """The approved body with {{n}} filled in; the template's name when none is configured."""
    if not body.strip():
        return f"[template {name}] " + " · ".join(values) if values else f"[template {name}]"

    def fill(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return values[n - 1] if 0 < n <= len(values) else match.group(0)

    return _PLACEHOLDER.sub(fill, body)


async def send(
    facts: Facts, action: model.ReplyTemplate, origin: dict[str, Any], line: Line
) -> str:
    from hub.channels import inboxes
    from hub.system.services import current

    settings = current().settings
    adapter = await inboxes.adapter_for(
        facts.inbox, secret_key=settings.secret_key, public_url=settings.public_url
    )
    configured = {t.get("name"): t for t in adapter.config.get("templates") or []}
    template = configured.get(action.name)
    if template is None:
        reason = f"this inbox has no approved template {action.name!r}"
        await line(facts, f"did not reply: {reason}", {"skipped": "reply_template"}, origin)
        return f"skipped: {reason}"
    async with connection_pool().acquire() as conn:
        values = [
            (await render(conn, v, conversation_id=facts.id, agent_id=None)).strip()
            for v in action.variables
        ]
    try:
        message = await replies.create_reply(
            facts.id,
            agent=None,
            text=_shown(str(template.get("body") or ""), values, action.name),
            template={"name": action.name, "variables": values},
            limits=adapter.limits(),
            origin=origin,
        )
    except replies.InvalidReply as exc:
        await line(facts, f"did not reply: {exc}", {"skipped": "reply_template"}, origin)
        return f"skipped: {exc}"
    await replies.enqueue_dispatch(int(message["id"]))
    return f"replied with template {action.name} (message {message['id']})"
