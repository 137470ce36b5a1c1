"""Skills and requirements against PostgreSQL and the in-process worker: an agent without a
required skill is never given the conversation by a policy, one with it is; requirements set by
the API, copied from the inbox, implied by a tag and set by an automation rule."""

from __future__ import annotations

from typing import Any

import httpx

from hub.db.engine import connection_pool
from hub.routing import assign, availability
from tests.automation.helpers import conversation_from, make_rule, wait_runs
from tests.conftest import admin_key, eventually, make_agent, make_api_inbox, unique


async def _team(
    client: httpx.AsyncClient, headers: dict[str, str], inbox_id: int, skills: list[list[str]]
) -> tuple[int, list[int]]:
    """A team (manual for now) owning the inbox, one agent per entry of `skills`."""
    pool = connection_pool()
    team = await pool.fetchval(
        "INSERT INTO team (name, max_open) VALUES ($1, 20) RETURNING id", unique("team")
    )
    ids = [await make_agent(unique("agent") + "@example.com") for _ in skills]
    await pool.executemany(
        "INSERT INTO team_member (team, agent) VALUES ($1, $2)", [(team, a) for a in ids]
    )
    await pool.execute("UPDATE inbox SET team = $2 WHERE id = $1", inbox_id, team)
    for agent, wanted in zip(ids, skills, strict=True):
        response = await client.put(
            f"/api/v1/agents/{agent}/skills", json={"skills": wanted}, headers=headers
        )
        assert response.status_code == 200, response.text
    return team, ids


async def _policy(client: httpx.AsyncClient, headers: dict[str, str], team: int, name: str) -> None:
    response = await client.patch(
        f"/api/v1/teams/{team}/routing", json={"assignment": name}, headers=headers
    )
    assert response.status_code == 200, response.text


async def _row(cid: int) -> dict[str, Any]:
    row = await connection_pool().fetchrow(
        "SELECT assignee, requirements, tag_requirements FROM conversation WHERE id = $1", cid
    )
    assert row is not None
    return dict(row)


async def _history(cid: int) -> list[tuple[int | None, str]]:
    rows = await connection_pool().fetch(
        "SELECT agent, by_type FROM conversation_assignment WHERE conversation = $1 ORDER BY id",
        cid,
    )
    return [(r["agent"], r["by_type"]) for r in rows]


def _assigned_to(agent: int):  # type: ignore[no-untyped-def]
    async def check(cid: int) -> bool:
        return (await _row(cid))["assignee"] == agent

    return check


async def test_only_agents_with_every_required_skill_receive_the_conversation(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    team, (plain, fibre) = await _team(
        client, headers, inbox["id"], [[], [" Product:Fibre ", "language:de"]]
    )
    cids = [await conversation_from(client, headers, inbox["id"], sender=f"+4531{n:06d}") for n in range(6)]  # fmt: skip
    for cid in cids[:3]:
        response = await client.put(
            f"/api/v1/conversations/{cid}/requirements",
            json={"requirements": ["product:fibre"]},
            headers=headers,
        )
        assert response.status_code == 200 and response.json() == ["product:fibre"]
    nobody = await client.put(
        f"/api/v1/conversations/{cids[3]}/requirements",
        json={"requirements": ["product:fibre", "language:fr"]},
        headers=headers,
    )
    assert nobody.json() == ["language:fr", "product:fibre"]
    await _policy(client, headers, team, "round_robin")
    for _ in range(3):  # the worker's sweep races these on purpose
        await assign.assign_waiting(team)

    async def placed() -> bool:
        rows = [await _row(c) for c in cids]
        return sum(r["assignee"] is not None for r in rows) == 5

    await eventually(placed, timeout=20)
    rows = {c: await _row(c) for c in cids}
    assert {rows[c]["assignee"] for c in cids[:3]} == {fibre}
    assert rows[cids[3]]["assignee"] is None  # nobody speaks French
    for cid in cids[:4]:
        assert all(agent != plain for agent, _ in await _history(cid))
    # Skills are compared as cleaned: "Product:Fibre" with spaces met "product:fibre".
    skills = await connection_pool().fetchval("SELECT skills FROM agent WHERE id = $1", fibre)
    assert list(skills) == ["language:de", "product:fibre"]


async def test_bad_skills_are_refused(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    cid = await conversation_from(client, headers, inbox["id"])
    too_long = await client.put(
        f"/api/v1/conversations/{cid}/requirements",
        json={"requirements": ["x" * 61]},
        headers=headers,
    )
    assert too_long.status_code == 422
    assert "at most 60 characters" in too_long.json()["error"]["message"]
    for path, body in (
        (f"/api/v1/inboxes/{inbox['id']}/requirements", {"requirements": ["y" * 61]}),
        ("/api/v1/routing/tag-requirements", {"tags": {"fibre": ["z" * 61]}}),
        ("/api/v1/routing/tag-requirements", {"tags": {" ": ["product:fibre"]}}),
    ):
        response = await client.put(path, json=body, headers=headers)
        assert response.status_code == 422, (path, response.text)
    assert (await _row(cid))["requirements"] == []
    mapping = await client.get("/api/v1/routing/tag-requirements", headers=headers)
    assert mapping.json() == {"tags": {}}


async def test_an_inbox_default_requirement_reaches_the_worker(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    other = await make_api_inbox(client, headers)
    team, (plain, german) = await _team(client, headers, inbox["id"], [[], ["language:de"]])
    response = await client.put(
        f"/api/v1/inboxes/{inbox['id']}/requirements",
        json={"requirements": ["Language:DE"]},
        headers=headers,
    )
    assert response.status_code == 200 and response.json() == ["language:de"]
    got = await client.get(f"/api/v1/inboxes/{inbox['id']}/requirements", headers=headers)
    assert got.json() == ["language:de"]
    await _policy(client, headers, team, "round_robin")
    # Through ingest: conversation.created → the routing subscriber in the worker.
    cids = [await conversation_from(client, headers, inbox["id"], sender=f"+4532{n:06d}") for n in range(4)]  # fmt: skip
    for cid in cids:
        await eventually(lambda c=cid: _assigned_to(german)(c), timeout=20)
        assert (await _row(cid))["requirements"] == ["language:de"]
        assert await _history(cid) == [(german, "policy")]
    untouched = await conversation_from(client, headers, other["id"])
    assert (await _row(untouched))["requirements"] == []
    assert plain not in {a for c in cids for a, _ in await _history(c)}


async def test_a_tag_implies_a_requirement_until_it_is_removed(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    team, (plain, fibre) = await _team(client, headers, inbox["id"], [[], ["product:fibre"]])
    mapping = await client.put(
        "/api/v1/routing/tag-requirements",
        json={"tags": {"Fibre": ["product:fibre"], "vip": ["tier:vip"]}},
        headers=headers,
    )
    assert mapping.status_code == 200, mapping.text
    assert mapping.json() == {"tags": {"fibre": ["product:fibre"], "vip": ["tier:vip"]}}
    await availability.set_availability(fibre, "busy")
    await _policy(client, headers, team, "round_robin")
    cid = await conversation_from(client, headers, inbox["id"])
    # Only the plain agent is available: the policy gives it to them, nothing is required yet.
    await eventually(lambda: _assigned_to(plain)(cid), timeout=20)
    tagged = await client.post(
        f"/api/v1/conversations/{cid}/tags", json={"tags": ["fibre"]}, headers=headers
    )
    assert tagged.status_code == 200, tagged.text
    # The tag rules out the agent the policy chose: back to the queue, where it waits.
    row = await _row(cid)
    assert row["requirements"] == ["product:fibre"] and row["tag_requirements"] == ["product:fibre"]
    assert row["assignee"] is None
    assert (await _history(cid))[-1] == (None, "agent")
    await assign.assign_waiting(team)
    assert (await _row(cid))["assignee"] is None  # the plain agent is still not a candidate
    # The skilled agent comes back: the agent.updated event starts the round in the worker.
    await availability.set_availability(fibre, "available")
    await eventually(lambda: _assigned_to(fibre)(cid), timeout=20)
    assert [a for a, _ in await _history(cid)] == [plain, None, fibre]

    removed = await client.delete(f"/api/v1/conversations/{cid}/tags/fibre", headers=headers)
    assert removed.status_code == 200, removed.text
    assert (await _row(cid))["requirements"] == []
    # Set explicitly, a requirement stays when the tag that also implies it goes.
    explicit = await client.put(
        f"/api/v1/conversations/{cid}/requirements",
        json={"requirements": ["product:fibre"]},
        headers=headers,
    )
    assert explicit.status_code == 200
    await client.post(
        f"/api/v1/conversations/{cid}/tags", json={"tags": ["fibre", "vip"]}, headers=headers
    )
    row = await _row(cid)
    assert row["requirements"] == ["product:fibre", "tier:vip"]
    assert row["tag_requirements"] == ["tier:vip"]
    # The policy's choice lacks tier:vip: back to the queue, where nobody qualifies.
    assert row["assignee"] is None and (await _history(cid))[-1] == (None, "agent")
    await client.delete(f"/api/v1/conversations/{cid}/tags/fibre", headers=headers)
    await client.delete(f"/api/v1/conversations/{cid}/tags/vip", headers=headers)
    assert (await _row(cid))["requirements"] == ["product:fibre"]
    await eventually(lambda: _assigned_to(fibre)(cid), timeout=20)
    assert plain not in [a for a, _ in (await _history(cid))[1:]]


async def test_an_automation_rule_sets_requirements_end_to_end(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    team, (plain, fibre) = await _team(client, headers, inbox["id"], [[], ["product:fibre"]])
    await make_rule(
        client,
        headers,
        trigger={"type": "conversation.created"},
        conditions={"field": "message.text", "op": "contains", "value": "glasfaser"},
        actions=[{"type": "set_requirements", "requirements": ["Product:Fibre"]}],
    )
    await _policy(client, headers, team, "round_robin")
    cids = [
        await conversation_from(
            client, headers, inbox["id"], "Meine Glasfaser ist tot", sender=f"+4533{n:06d}"
        )
        for n in range(3)
    ]
    await wait_runs(client, headers, count=3)
    for cid in cids:
        await eventually(lambda c=cid: _assigned_to(fibre)(c), timeout=20)
        assert (await _row(cid))["requirements"] == ["product:fibre"]
        history = await _history(cid)
        assert history[-1] == (fibre, "policy")
        # The rule runs beside routing: if the policy was first and chose the plain agent, the
        # rule sent the conversation back before the skilled agent got it.
        for n, (agent, _) in enumerate(history):
            if agent == plain:
                assert history[n + 1] == (None, "automation")
    lines = await connection_pool().fetch(
        "SELECT text FROM message WHERE conversation = $1 AND kind = 'event'", cids[0]
    )
    assert any("set the requirements to product:fibre" in r["text"] for r in lines)


async def test_a_rule_with_bad_requirements_is_refused(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    response = await client.post(
        "/api/v1/automation-rules",
        json={
            "name": unique("rule"),
            "trigger": {"type": "conversation.created"},
            "actions": [{"type": "set_requirements", "requirements": ["x" * 61]}],
        },
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["path"] == "actions[0].requirements"


async def test_a_split_keeps_the_requirements_and_what_its_tags_brought(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    await client.put(
        "/api/v1/routing/tag-requirements",
        json={"tags": {"fibre": ["product:fibre"]}},
        headers=headers,
    )
    await client.put(
        f"/api/v1/inboxes/{inbox['id']}/requirements",
        json={"requirements": ["language:de"]},
        headers=headers,
    )
    messages = []
    for n in range(2):
        response = await client.post(
            f"/api/v1/inboxes/{inbox['id']}/messages",
            json={
                "external_id": unique("m"),
                "sender": {"kind": "phone", "address": "+4534000001", "name": "Customer"},
                "text": f"m{n}",
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
        messages.append(response.json())
    cid = messages[0]["conversation_id"]
    assert messages[1]["conversation_id"] == cid
    await client.post(
        f"/api/v1/conversations/{cid}/tags", json={"tags": ["fibre"]}, headers=headers
    )
    split = await client.post(
        f"/api/v1/conversations/{cid}/split",
        json={"message_id": messages[1]["id"]},
        headers=headers,
    )
    assert split.status_code == 201, split.text
    new = await _row(split.json()["id"])
    assert new["requirements"] == ["language:de", "product:fibre"]
    assert new["tag_requirements"] == ["product:fibre"]
    # The copied tag still takes its requirement with it when removed.
    await client.delete(f"/api/v1/conversations/{split.json()['id']}/tags/fibre", headers=headers)
    assert (await _row(split.json()["id"]))["requirements"] == ["language:de"]
