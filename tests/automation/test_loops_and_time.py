"""Loops stop at once and are logged; time rules act once per conversation with two sweeps at
the same moment; the dry run changes nothing; condition trees (AND / OR / NOT)."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx

from hub.automation import timed
from hub.automation.conditions import evaluate
from hub.automation.context import Facts
from hub.automation.validation import compile_tree
from hub.db.engine import connection_pool
from hub.system import clock
from tests.automation.helpers import (
    conversation,
    conversation_from,
    make_rule,
    runs,
    timeline,
    wait_runs,
)
from tests.conftest import admin_key, make_api_inbox, run_job


async def test_a_tag_loop_stops_at_once_and_is_logged(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    # Each rule reacts to any tag change by tagging: alone, or together, they would loop forever.
    ping = await make_rule(
        client, headers, name="Ping", trigger={"type": "conversation.updated", "fields": ["tags"]},
        actions=[{"type": "add_tags", "tags": ["ping"]}],
    )  # fmt: skip
    pong = await make_rule(
        client, headers, name="Pong", trigger={"type": "conversation.updated", "fields": ["tags"]},
        actions=[{"type": "add_tags", "tags": ["pong"]}],
    )  # fmt: skip
    cid = await conversation_from(client, headers, inbox["id"])
    added = await client.post(f"/api/v1/conversations/{cid}/tags", json={"tags": ["start"]}, headers=headers)  # fmt: skip
    assert added.status_code == 200, added.text
    # The agent's tag fires both: Ping (chain [Ping]) tags, which fires Pong... and Pong's own
    # first run's change. Every re-trigger of a rule already in the chain is stopped and logged.
    await wait_runs(client, headers, count=6)
    statuses = sorted(
        (r["rule_name"], r["status"], r["depth"]) for r in await runs(client, headers)
    )
    # On the agent's change both act (depth 1); on Ping's change Ping is stopped and Pong acts
    # (depth 2, its tag is there already: no further event), and the mirror image on Pong's.
    assert statuses == [
        ("Ping", "loop_prevented", 2),
        ("Ping", "ok", 1),
        ("Ping", "ok", 2),
        ("Pong", "loop_prevented", 2),
        ("Pong", "ok", 1),
        ("Pong", "ok", 2),
    ]
    got = await conversation(client, headers, cid)
    assert {"start", "ping", "pong"} <= set(got["tags"])
    assert ping["id"] != pong["id"]


async def test_a_time_rule_runs_once_per_conversation_with_two_sweeps(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    rule = await make_rule(
        client, headers, name="Close resolved",
        trigger={"type": "time.resolved", "minutes": 3 * 24 * 60},
        actions=[{"type": "set_status", "status": "closed"}],
    )  # fmt: skip
    ids = [
        await conversation_from(client, headers, inbox["id"], sender=f"+452000010{n}")
        for n in range(3)
    ]
    for cid in ids[:2]:
        patch = await client.patch(f"/api/v1/conversations/{cid}", json={"status": "resolved"}, headers=headers)  # fmt: skip
        assert patch.status_code == 200, patch.text
    assert await timed.sweep() == {}  # not due yet
    clock.advance(dt.timedelta(days=3, minutes=1))
    # Two ticks at the same moment: the worker's job and this process's sweep.
    await asyncio.gather(run_job("automation_time_rules"), timed.sweep(), timed.sweep())
    rows = await connection_pool().fetch(
        "SELECT conversation, count(*) AS n FROM automation_run WHERE rule = $1 GROUP BY 1",
        rule["id"],
    )
    assert {r["conversation"]: r["n"] for r in rows} == {ids[0]: 1, ids[1]: 1}
    for cid in ids[:2]:
        assert (await conversation(client, headers, cid))["status"] == "closed"
        assert (await timeline(cid)).count("Rule 'Close resolved' closed the conversation") == 1
    assert (await conversation(client, headers, ids[2]))["status"] == "open"
    assert await timed.sweep() == {}  # closed now: nothing is due again


async def test_no_agent_reply_in_business_time(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    hours = await client.post(
        "/api/v1/business-hours",
        json={"name": "Always", "timezone": "UTC", "weekly": {d: [["00:00", "24:00"]] for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}},
        headers=headers,
    )  # fmt: skip
    assert hours.status_code == 201, hours.text
    await make_rule(
        client, headers, name="Chase",
        trigger={"type": "time.no_agent_reply", "minutes": 30, "business_hours_id": hours.json()["id"]},
        actions=[{"type": "set_priority", "priority": "high"}],
    )  # fmt: skip
    cid = await conversation_from(client, headers, inbox["id"])
    await run_job("automation_time_rules")
    assert (await conversation(client, headers, cid))["priority"] == "none"
    clock.advance(dt.timedelta(minutes=31))
    await run_job("automation_time_rules")
    assert (await conversation(client, headers, cid))["priority"] == "high"


async def test_dry_run_says_what_would_happen_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    cid = await conversation_from(client, headers, inbox["id"], "my invoice is wrong")
    rule = await make_rule(
        client, headers, name="Billing words", enabled=False, trigger={"type": "message.created"},
        conditions={"all": [{"field": "message.text", "value": "invoice"}, {"not": {"field": "tags", "value": ["vip"]}}]},
        actions=[{"type": "set_priority", "priority": "high"}],
    )  # fmt: skip
    response = await client.post(f"/api/v1/automation-rules/{rule['id']}/test", json={"conversation_id": cid}, headers=headers)  # fmt: skip
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["matched"] is True
    assert [c["result"] for c in result["conditions"]] == [True, False]  # the NOT's leaf: no vip
    assert result["actions"] == [{"type": "set_priority", "action": "set priority to high"}]
    assert (await conversation(client, headers, cid))["priority"] == "none"
    assert await runs(client, headers) == []
    # Reorder and disable/enable through the API.
    other = await make_rule(client, headers, trigger={"type": "conversation.created"}, actions=[{"type": "add_tags", "tags": ["x"]}])  # fmt: skip
    order = await client.put("/api/v1/automation-rules/order", json={"rule_ids": [other["id"], rule["id"]]}, headers=headers)  # fmt: skip
    assert [r["id"] for r in order.json()] == [other["id"], rule["id"]]
    bad = await client.put("/api/v1/automation-rules/order", json={"rule_ids": [other["id"]]}, headers=headers)  # fmt: skip
    assert bad.status_code == 422
    enabled = await client.put(f"/api/v1/automation-rules/{rule['id']}/enabled", json={"enabled": True}, headers=headers)  # fmt: skip
    assert enabled.json()["enabled"] is True


def _facts(**kw: object) -> Facts:
    base: dict[str, object] = dict(
        id=1, inbox=1, channel="email", team=None, assignee=None, status="open", priority="none",
        subject="", ref=1, contact=1, contact_name="", attributes={}, tags=set(), domains=set(),
        last_text="", sla_due_at=None, sla_warn_at=None, sla_breached_at=None, crm=[],
    )  # fmt: skip
    base.update(kw)
    return Facts(**base)  # type: ignore[arg-type]


def test_and_or_not_trees() -> None:
    tree = compile_tree({"all": [
        {"field": "channel", "value": ["email"]},
        {"any": [{"field": "priority", "value": ["high", "urgent"]}, {"field": "tags", "value": ["vip"]}]},
        {"not": {"field": "sender.domain", "value": ["spam.example"]}},
        {"field": "contact.attribute", "key": "plan", "value": "Gold"},
    ]})  # fmt: skip
    now = clock.now()
    good = _facts(priority="high", attributes={"plan": "gold"}, domains={"acme.example"})
    assert evaluate(tree, good, now, {}, [])
    assert evaluate(tree, _facts(tags={"vip"}, attributes={"plan": "gold"}), now, {}, [])
    assert not evaluate(tree, _facts(attributes={"plan": "gold"}), now, {}, [])  # neither of any
    assert not evaluate(tree, _facts(priority="high", attributes={"plan": "gold"}, domains={"spam.example"}), now, {}, [])  # fmt: skip
    assert not evaluate(tree, _facts(priority="high", channel="telegram", attributes={"plan": "gold"}), now, {}, [])  # fmt: skip
    sla = compile_tree({"field": "sla.state", "value": ["at_risk"]})
    soon = _facts(
        sla_warn_at=now - dt.timedelta(minutes=1), sla_due_at=now + dt.timedelta(minutes=5)
    )
    assert evaluate(sla, soon, now, {}, []) and not evaluate(sla, _facts(), now, {}, [])
    crm = compile_tree({"all": [{"field": "crm.overdue_amount", "op": "gt", "value": 10}, {"field": "crm.tariff", "value": ["Fiber 300"]}]})  # fmt: skip
    assert evaluate(
        crm, _facts(crm=[{"overdue_amount": 29, "tariffs": ["Fiber 300"]}]), now, {}, []
    )
    assert not evaluate(
        crm, _facts(crm=[{"overdue_amount": 5, "tariffs": ["Fiber 300"]}]), now, {}, []
    )


def test_business_hours_now() -> None:
    from hub.automation.calendars import business_cutoff, open_checks
    from hub.sla.calendar import compile_calendar
    from hub.sla.policies import calendar_of

    weekdays = {
        d: [["09:00", "17:00"]] for d in ("monday", "tuesday", "wednesday", "thursday", "friday")
    }
    calendar = compile_calendar(calendar_of("Europe/Berlin", weekdays, []))
    is_open = open_checks({7: calendar})
    tree = compile_tree({"field": "business_hours", "business_hours_id": 7})
    monday_10 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)  # 10:00 in Berlin
    saturday = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
    assert evaluate(tree, _facts(), monday_10, is_open, [])
    assert not evaluate(tree, _facts(), saturday, is_open, [])
    # 60 business minutes before Monday 10:00 Berlin is Monday 09:00; 120 reach Friday 16:00.
    assert business_cutoff(calendar, monday_10, 60) == dt.datetime(
        2026, 11, 30, 8, 0, tzinfo=dt.UTC
    )
    assert business_cutoff(calendar, monday_10, 120) == dt.datetime(
        2026, 11, 27, 15, 0, tzinfo=dt.UTC
    )


def test_the_event_alone_decides_most_trees() -> None:
    from hub.automation.conditions import quick

    tree = compile_tree({"all": [
        {"field": "priority", "value": ["high"]},  # needs the conversation
        {"field": "message.text", "value": "refund"},
    ]})  # fmt: skip
    assert quick(tree, text="hello", inbox=1, data={}) is False  # no query needed
    assert quick(tree, text="a refund please", inbox=1, data={}) is None  # the facts decide
    either = compile_tree({"any": [{"field": "inbox", "value": [1]}, {"field": "tags", "value": ["x"]}]})  # fmt: skip
    assert quick(either, text=None, inbox=1, data={}) is True
    assert quick(either, text=None, inbox=2, data={}) is None
    negated = compile_tree({"not": {"field": "csat.rating", "op": "lte", "value": 2}})
    assert quick(negated, text=None, inbox=1, data={"rating": 5}) is True
