"""Agents and teams administration through the API: invite with a one-time link, edit,
deactivate, teams and members; each change in the audit log."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from hub.db.engine import connection_pool
from tests.conftest import admin_key, unique


async def test_invite_set_password_and_log_in(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    email = unique("new") + "@example.com"
    invited = await client.post(
        "/api/v1/agents",
        json={"email": email, "name": "Nora New", "role": "agent"},
        headers=headers,
    )
    assert invited.status_code == 201, invited.text
    url = invited.json()["invite_url"]
    token = parse_qs(urlsplit(url).query)["token"][0]
    page = await client.get(urlsplit(url).path + "?" + urlsplit(url).query)
    assert page.status_code == 200 and "Set your password" in page.text
    # Nothing can log in before the password is set, and the database holds no plain token.
    assert (
        await client.post("/api/v1/auth/login", json={"email": email, "password": ""})
    ).status_code == 401
    stored = await connection_pool().fetchval("SELECT token_sha256 FROM agent_invite")
    assert token not in stored
    short = await client.post(
        "/api/v1/auth/set-password", json={"token": token, "password": "short"}
    )
    assert short.status_code == 422 and "at least 12 characters" in short.text
    done = await client.post(
        "/api/v1/auth/set-password", json={"token": token, "password": "a long enough secret"}
    )
    assert done.status_code == 200, done.text
    again = await client.post(
        "/api/v1/auth/set-password", json={"token": token, "password": "another long secret"}
    )
    assert again.status_code == 422 and "not valid any more" in again.text
    login = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": "a long enough secret"}
    )
    assert login.status_code == 200
    duplicate = await client.post("/api/v1/agents", json={"email": email}, headers=headers)
    assert duplicate.status_code == 422 and "exists already" in duplicate.text


async def test_deactivate_and_the_only_admin(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    me = (await client.get("/api/v1/auth/me", headers=headers)).json()["agent"]["id"]
    refused = await client.patch(f"/api/v1/agents/{me}", json={"active": False}, headers=headers)
    assert refused.status_code == 422 and "only active admin" in refused.text
    invited = await client.post(
        "/api/v1/agents", json={"email": unique("x") + "@example.com"}, headers=headers
    )
    other = invited.json()["agent"]["id"]
    changed = await client.patch(
        f"/api/v1/agents/{other}", json={"name": "Renamed", "active": False}, headers=headers
    )
    assert changed.status_code == 200
    assert changed.json()["name"] == "Renamed" and changed.json()["active"] is False
    actions = [
        r["action"]
        for r in await connection_pool().fetch("SELECT action FROM audit_log ORDER BY id")
    ]
    assert actions[-2:] == ["agent.invite", "agent.update"]


async def test_teams_and_members(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    me = (await client.get("/api/v1/auth/me", headers=headers)).json()["agent"]["id"]
    team = await client.post("/api/v1/teams", json={"name": "Billing"}, headers=headers)
    assert team.status_code == 201, team.text
    tid = team.json()["id"]
    assert (
        await client.post("/api/v1/teams", json={"name": "Billing"}, headers=headers)
    ).status_code == 422
    members = await client.put(
        f"/api/v1/teams/{tid}/members", json={"agent_ids": [me]}, headers=headers
    )
    assert members.json()["member_ids"] == [me]
    bad = await client.put(
        f"/api/v1/teams/{tid}/members", json={"agent_ids": [me, 99999]}, headers=headers
    )
    assert bad.status_code == 422 and "no active agent 99999" in bad.text
    routing = await client.patch(
        f"/api/v1/teams/{tid}/routing",
        json={"assignment": "least_loaded", "max_open": 5},
        headers=headers,
    )
    assert routing.json()["assignment"] == "least_loaded"
    listed = await client.get("/api/v1/teams", headers=headers)
    assert [(t["name"], t["assignment"], t["member_ids"]) for t in listed.json()] == [
        ("Billing", "least_loaded", [me])
    ]
