"""A chain of distinct rules stops at the depth limit (logged), and a CRM condition end to end:
an overdue invoice in the Splynx fake → priority urgent and team Billing."""

from __future__ import annotations

import httpx
import pytest

from hub.db.engine import connection_pool
from hub.system.config import Settings
from tests.automation.helpers import conversation, conversation_from, make_rule, runs, wait_runs
from tests.conftest import admin_key, make_api_inbox, with_settings
from tests.crm.conftest import (
    Crm,
    live_splynx,  # noqa: F401  (a fixture)
)
from tests.crm.conftest import crm as crm
from tests.crm.test_linking import customer_5


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_settings(settings, automation_max_depth=2)


async def test_a_chain_deeper_than_the_limit_stops_and_is_logged(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    # Step 3 runs before Step 2, so it sees step2 only on the event of Step 2's change.
    for n in (1, 3, 2):
        conditions = {} if n == 1 else {"field": "tags", "value": [f"step{n - 1}"]}
        await make_rule(
            client, headers, name=f"Step {n}",
            trigger={"type": "conversation.created"} if n == 1 else {"type": "conversation.updated", "fields": ["tags"]},
            conditions=conditions, actions=[{"type": "add_tags", "tags": [f"step{n}"]}],
        )  # fmt: skip
    cid = await conversation_from(client, headers, inbox["id"])
    await wait_runs(client, headers, count=3)
    by_name = {
        r["rule_name"]: r for r in await runs(client, headers) if r["status"] != "loop_prevented"
    }
    assert by_name["Step 1"]["status"] == "ok" and by_name["Step 2"]["status"] == "ok"
    assert by_name["Step 3"]["status"] == "depth_limit" and by_name["Step 3"]["depth"] == 3
    assert by_name["Step 3"]["actions"] == []
    tags = set((await conversation(client, headers, cid))["tags"])
    assert {"step1", "step2"} <= tags and "step3" not in tags


async def test_overdue_invoice_makes_it_urgent_for_billing(
    client: httpx.AsyncClient, crm: Crm
) -> None:
    customer_5(crm)  # Maria Jensen: one invoice ten days overdue, +45 20 12 34 56
    await crm.sync(full=True)
    team = await connection_pool().fetchval(
        "INSERT INTO team (name) VALUES ('Billing') RETURNING id"
    )
    await make_rule(
        client, crm.headers, name="Overdue",
        trigger={"type": "conversation.created"},
        conditions={"all": [
            {"field": "crm.overdue_invoice_count", "op": "gte", "value": 1},
            {"field": "crm.customer_status", "value": ["active"]},
        ]},
        actions=[{"type": "set_priority", "priority": "urgent"}, {"type": "assign_team", "team_id": team}],
    )  # fmt: skip
    inbox = await make_api_inbox(client, crm.headers)
    stranger = await conversation_from(client, crm.headers, inbox["id"], sender="+4599999999")
    cid = await conversation_from(client, crm.headers, inbox["id"], sender="+4520123456")
    [run] = await wait_runs(client, crm.headers)
    assert run["conversation_id"] == cid and run["status"] == "ok"
    got = await conversation(client, crm.headers, cid)
    assert got["priority"] == "urgent" and got["team_id"] == team
    assert (await conversation(client, crm.headers, stranger))["priority"] == "none"
