"""Issue 19: the demo shows a custom role at work and an audit log with history."""

from __future__ import annotations

import httpx

from hub.demo.access import BILLING_LOGIN
from hub.demo.seed import load_demo
from tests.conftest import login


async def test_the_demo_has_a_billing_specialist_and_an_audit_trail(
    client: httpx.AsyncClient,
) -> None:
    assert await load_demo() is True
    email, password = BILLING_LOGIN
    csrf = await login(client, email, password)
    me = (await client.get("/api/v1/auth/me")).json()["agent"]
    assert me["role"] == "billing"
    conversations = (await client.get("/api/v1/conversations")).json()["items"]
    assert conversations  # she sees the demo inboxes
    assert (await client.get("/api/v1/api-keys")).status_code == 403
    reassign = await client.patch(
        f"/api/v1/conversations/{conversations[0]['id']}",
        json={"assignee_id": 1},  # Ada Admin, someone else
        headers={"x-csrf-token": csrf},
    )
    assert reassign.status_code == 403 and "assign_others" in reassign.text
    inbox = await client.get("/inbox")
    assert inbox.status_code == 200 and "/admin/roles" not in inbox.text
    await client.post("/api/v1/auth/logout", headers={"x-csrf-token": csrf})
    client.cookies.clear()

    await login(client, "admin@example.com", "hub-demo-admin")
    roles = (await client.get("/api/v1/roles")).json()["items"]
    billing = next(r for r in roles if r["key"] == "billing")
    assert billing["name"] == "Billing specialist" and billing["agents"] == 1
    log = (await client.get("/api/v1/audit-log", params={"limit": 100})).json()["items"]
    actions = {e["action"] for e in log}
    assert {"role.create", "agent.invite", "login", "login.failed"} <= actions
    page = await client.get("/admin/roles")
    assert page.status_code == 200 and "Billing specialist" in page.text
