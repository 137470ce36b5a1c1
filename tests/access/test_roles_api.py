"""Issue 19: roles through /api/v1/roles: CRUD, validation, a role in use, no lock-out, the
permission cache."""

from __future__ import annotations

import httpx

from hub.auth import roles
from hub.auth.permissions import Permission
from hub.db.engine import connection_pool
from tests.access.helpers import agent_with, make_role
from tests.conftest import admin_key


async def test_create_read_update_delete_a_role(client: httpx.AsyncClient) -> None:
    admin = await admin_key(client)
    created = await client.post(
        "/api/v1/roles",
        json={
            "key": "billing",
            "name": "Billing specialist",
            "permissions": ["conversations.read", "crm.card", "conversations.read"],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["permissions"] == ["conversations.read", "crm.card"]
    assert created.json()["system"] is False
    listed = (await client.get("/api/v1/roles", headers=admin)).json()["items"]
    by_key = {r["key"]: r for r in listed}
    assert {"admin", "supervisor", "agent", "billing"} <= set(by_key)
    # Admin has every permission, including ones added after it was made.
    assert set(by_key["admin"]["permissions"]) == {p.value for p in Permission}
    changed = await client.patch(
        "/api/v1/roles/billing",
        json={"name": "Billing", "permissions": ["conversations.read", "conversations.note"]},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Billing"
    assert changed.json()["permissions"] == ["conversations.note", "conversations.read"]
    assert (await client.delete("/api/v1/roles/billing", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/roles/billing", headers=admin)).status_code == 404
    actions = [
        (r["action"], r["data"])
        for r in await connection_pool().fetch(
            "SELECT action, data FROM audit_log WHERE starts_with(action, 'role.') ORDER BY id"
        )
    ]
    assert [a for a, _ in actions] == ["role.create", "role.update", "role.delete"]
    assert '"granted": ["conversations.note"]' in actions[1][1]
    assert '"revoked": ["crm.card"]' in actions[1][1]


async def test_bad_roles_are_refused_with_the_field(client: httpx.AsyncClient) -> None:
    admin = await admin_key(client)
    cases = [
        ({"key": "Bad Key", "name": "x"}, "key"),
        ({"key": "ok", "name": " "}, "name"),
        (
            {"key": "ok", "name": "x", "permissions": ["crm.card", "root.everything"]},
            "permissions[1]",
        ),
    ]
    for body, field in cases:
        response = await client.post("/api/v1/roles", json=body, headers=admin)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["message"].startswith(field + ":"), response.text
    await make_role(client, admin, [], key="dup")
    again = await client.post("/api/v1/roles", json={"key": "dup", "name": "y"}, headers=admin)
    assert again.status_code == 422
    # The system roles are fixed and stay.
    for key in ("admin", "supervisor", "agent"):
        fixed = await client.patch(f"/api/v1/roles/{key}", json={"permissions": []}, headers=admin)
        assert fixed.status_code == 422 and "system role" in fixed.text
        assert (await client.delete(f"/api/v1/roles/{key}", headers=admin)).status_code == 422


async def test_a_role_in_use_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    admin = await admin_key(client)
    key = await make_role(client, admin, ["conversations.read"])
    agent_id, _ = await agent_with(key)
    refused = await client.delete(f"/api/v1/roles/{key}", headers=admin)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "role_in_use"
    moved = await client.patch(f"/api/v1/agents/{agent_id}", json={"role": "agent"}, headers=admin)
    assert moved.status_code == 200
    assert (await client.delete(f"/api/v1/roles/{key}", headers=admin)).status_code == 204


async def test_agents_get_a_custom_role_through_the_people_api(client: httpx.AsyncClient) -> None:
    admin = await admin_key(client)
    key = await make_role(client, admin, ["conversations.read", "contacts.read"])
    agent_id, headers = await agent_with("agent")
    unknown = await client.patch(f"/api/v1/agents/{agent_id}", json={"role": "nope"}, headers=admin)
    assert unknown.status_code == 422 and "role" in unknown.text
    given = await client.patch(f"/api/v1/agents/{agent_id}", json={"role": key}, headers=admin)
    assert given.status_code == 200 and given.json()["role"] == key
    # The agent's API key acts with the new role at once (this process forgets cached keys).
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.json()["agent"]["role"] == key
    keys = await client.get("/api/v1/api-keys", headers=headers)
    assert keys.status_code == 403 and "api_keys.use" in keys.text
    entry = await connection_pool().fetchrow(
        "SELECT data FROM audit_log WHERE action = 'agent.update' ORDER BY id DESC LIMIT 1"
    )
    assert f'"role": "{key}"' in entry["data"] and '"previous_role": "agent"' in entry["data"]


async def test_nobody_locks_themselves_out(client: httpx.AsyncClient) -> None:
    admin = await admin_key(client)
    manager_role = await make_role(
        client, admin, ["roles.manage", "agents.manage", "conversations.read"]
    )
    manager_id, manager = await agent_with(manager_role)
    # Not the roles.manage of your own role...
    refused = await client.patch(
        f"/api/v1/roles/{manager_role}", json={"permissions": ["agents.manage"]}, headers=manager
    )
    assert refused.status_code == 422 and "your own role" in refused.text
    # ...nor a role without agents.manage for yourself, nor deactivating yourself.
    demote = await client.patch(
        f"/api/v1/agents/{manager_id}", json={"role": "agent"}, headers=manager
    )
    assert demote.status_code == 422 and "yourself" in demote.text
    off = await client.patch(
        f"/api/v1/agents/{manager_id}", json={"active": False}, headers=manager
    )
    assert off.status_code == 422
    # The last active admin stays one, even for another admin with agents.manage.
    me = (await client.get("/api/v1/auth/me", headers=admin)).json()["agent"]["id"]
    last = await client.patch(f"/api/v1/agents/{me}", json={"role": "agent"}, headers=manager)
    assert last.status_code == 422 and "only active admin" in last.text
    assert (await client.get("/api/v1/roles", headers=manager)).status_code == 200


async def test_a_permission_change_applies_at_once_here_and_within_the_ttl_elsewhere(
    client: httpx.AsyncClient,
) -> None:
    admin = await admin_key(client)
    key = await make_role(client, admin, ["conversations.read"])
    _, headers = await agent_with(key)
    assert (await client.get("/api/v1/audit-log", headers=headers)).status_code == 403
    granted = await client.patch(
        f"/api/v1/roles/{key}",
        json={"permissions": ["conversations.read", "audit.view"]},
        headers=admin,
    )
    assert granted.status_code == 200
    # This process invalidated its cache with the change: no waiting.
    assert (await client.get("/api/v1/audit-log", headers=headers)).status_code == 200
    # Another process changing the row (simulated behind this one's back) is seen once this
    # process's copy is older than roles.CACHE_SECONDS (simulated by expiring it).
    await connection_pool().execute(
        "UPDATE role SET permissions = '{conversations.read}' WHERE key = $1", key
    )
    assert (await client.get("/api/v1/audit-log", headers=headers)).status_code == 200
    roles._loaded.clear()
    assert (await client.get("/api/v1/audit-log", headers=headers)).status_code == 403


async def test_the_catalogue_lists_every_permission_once_in_groups(
    client: httpx.AsyncClient,
) -> None:
    _, headers = await agent_with("agent")
    groups = (await client.get("/api/v1/roles/permissions", headers=headers)).json()["groups"]
    keys = [p["key"] for g in groups for p in g["permissions"]]
    assert sorted(keys) == sorted(p.value for p in Permission)
    assert {"Conversations", "Contacts", "CRM", "Settings", "Access"} <= {
        g["group"] for g in groups
    }
    assert all(p["label"] for g in groups for p in g["permissions"])
