"""Issue 19: changes to automation rules, macros and CSAT settings are in the audit log with the
actor and what changed (before / after)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from hub.db.engine import connection_pool
from tests.automation.helpers import make_rule
from tests.conftest import admin_key, make_api_inbox


async def _entries(action: str) -> list[dict[str, Any]]:
    rows = await connection_pool().fetch(
        "SELECT actor_id, target_type, target_id, data FROM audit_log WHERE action = $1"
        " ORDER BY id",
        action,
    )
    return [dict(r) | {"data": json.loads(r["data"])} for r in rows]


async def _me(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return int((await client.get("/api/v1/auth/me", headers=headers)).json()["agent"]["id"])


async def test_automation_rule_changes_are_audited(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    admin = await _me(client, headers)
    rule = await make_rule(
        client,
        headers,
        name="Urgent VIPs",
        trigger={"type": "message.created"},
        conditions={"all": [{"field": "tags", "value": ["vip"]}]},
        actions=[{"type": "set_priority", "priority": "high"}],
    )
    changed = await client.put(
        f"/api/v1/automation-rules/{rule['id']}",
        json={**{k: rule[k] for k in ("name", "trigger", "conditions")},
              "actions": [{"type": "set_priority", "priority": "urgent"}]},
        headers=headers,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    off = await client.put(
        f"/api/v1/automation-rules/{rule['id']}/enabled", json={"enabled": False}, headers=headers
    )
    assert off.status_code == 200, off.text
    second = await make_rule(
        client,
        headers,
        trigger={"type": "message.created"},
        actions=[{"type": "set_priority", "priority": "low"}],
    )
    order = [second["id"], rule["id"]]
    reordered = await client.put(
        "/api/v1/automation-rules/order", json={"rule_ids": order}, headers=headers
    )
    assert reordered.status_code == 200, reordered.text
    gone = await client.delete(f"/api/v1/automation-rules/{rule['id']}", headers=headers)
    assert gone.status_code == 204, gone.text

    [created, _second] = await _entries("automation_rule.created")
    assert created["actor_id"] == admin and created["target_id"] == rule["id"]
    assert created["data"]["name"] == "Urgent VIPs" and "before" not in created["data"]
    assert created["data"]["after"]["actions"] == [{"type": "set_priority", "priority": "high"}]
    [edit, disable] = await _entries("automation_rule.updated")
    assert edit["data"]["before"] == {"actions": [{"type": "set_priority", "priority": "high"}]}
    assert edit["data"]["after"] == {"actions": [{"type": "set_priority", "priority": "urgent"}]}
    assert disable["data"]["before"] == {"enabled": True}
    assert disable["data"]["after"] == {"enabled": False}
    [moved] = await _entries("automation_rule.reordered")
    assert moved["data"] == {"before": [rule["id"], second["id"]], "after": order}
    [deleted] = await _entries("automation_rule.deleted")
    assert deleted["target_id"] == rule["id"] and "after" not in deleted["data"]
    assert deleted["data"]["before"]["name"] == "Urgent VIPs"


async def test_macro_changes_are_audited(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    admin = await _me(client, headers)
    made = await client.post(
        "/api/v1/macros",
        json={"name": "Refund", "body": "We refunded you.", "visibility": "everyone"},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    macro = made.json()
    long_body = "Your refund is on its way. " * 40
    edited = await client.put(
        f"/api/v1/macros/{macro['id']}",
        json={"name": "Refund", "body": long_body, "visibility": "everyone"},
        headers=headers,
    )
    assert edited.status_code == 200, edited.text
    assert (
        await client.delete(f"/api/v1/macros/{macro['id']}", headers=headers)
    ).status_code == 204

    [created] = await _entries("macro.created")
    assert created["actor_id"] == admin and created["target_type"] == "macro"
    assert created["data"]["after"]["body"] == "We refunded you."
    [updated] = await _entries("macro.updated")
    assert updated["target_id"] == macro["id"]
    assert updated["data"]["before"] == {"body": "We refunded you."}
    after = updated["data"]["after"]["body"]
    assert after.startswith("Your refund is on its way.") and after.endswith("…")  # clipped
    assert len(after) < len(long_body)
    [deleted] = await _entries("macro.deleted")
    assert deleted["data"]["name"] == "Refund" and "after" not in deleted["data"]


async def test_csat_settings_changes_are_audited(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    admin = await _me(client, headers)
    inbox = await make_api_inbox(client, headers)
    changed = await client.put(
        f"/api/v1/inboxes/{inbox['id']}/csat",
        json={"enabled": True, "question": "How did we do?"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    [entry] = await _entries("csat_settings.updated")
    assert entry["actor_id"] == admin
    assert (entry["target_type"], entry["target_id"]) == ("inbox", inbox["id"])
    assert entry["data"] == {
        "before": {"enabled": False, "question": ""},
        "after": {"enabled": True, "question": "How did we do?"},
    }
