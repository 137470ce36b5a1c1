"""The automation page as HTML: the rules in order, and a rule's own run log."""

from __future__ import annotations

import httpx

from tests.automation.helpers import conversation_from, make_rule, wait_runs
from tests.conftest import admin_key, login, make_agent, make_api_inbox


async def test_the_page_lists_rules_and_a_rules_runs(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    fired = await make_rule(client, headers, name="Tag new", trigger={"type": "conversation.created"}, actions=[{"type": "add_tags", "tags": ["new"]}])  # fmt: skip
    quiet = await make_rule(client, headers, name="Never", trigger={"type": "sla.breached"}, actions=[{"type": "add_tags", "tags": ["late"]}])  # fmt: skip
    await conversation_from(client, headers, inbox["id"])
    await wait_runs(client, headers, rule_id=fired["id"])
    await make_agent("sup@example.com", role="supervisor")
    await login(client, "sup@example.com")
    page = await client.get("/admin/automation")
    assert page.status_code == 200, page.text
    assert page.text.index("Tag new") < page.text.index("Never")
    assert "add tags new" in page.text
    own = await client.get(f"/admin/automation?rule_id={quiet['id']}")
    assert "Run log of “Never”" in own.text and "No runs yet." in own.text
    assert "No runs yet." not in (await client.get(f"/admin/automation?rule_id={fired['id']}")).text
