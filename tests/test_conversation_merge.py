"""Merging, undoing and splitting conversations through the REST API."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx

from hub.auth.accounts import AgentInfo
from hub.conversations import merge
from hub.db.engine import engine
from tests.conftest import admin_key, api_key_for, make_api_inbox, unique


def _pool() -> Any:
    pool = engine().pool
    assert pool is not None
    return pool


async def _send(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    inbox_id: int,
    external_id: str,
    text: str,
    sender: str,
    files: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/inboxes/{inbox_id}/messages",
        json={
            "external_id": external_id,
            "sender": {"kind": "phone", "address": sender, "name": "Customer"},
            "text": text,
            "attachments": [
                {
                    "filename": name,
                    "content_type": "text/plain",
                    "data": base64.b64encode(data).decode(),
                }
                for name, data in files
            ],
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _two_conversations(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    sender: str = "+4530001000",
    external: str = "",
) -> tuple[int, int, int]:
    """Two conversations of one contact in one API inbox: the first closed with a note, the
    second open. Returns (inbox, first, second)."""
    inbox = (await make_api_inbox(client, headers))["id"]
    first = await _send(
        client,
        headers,
        inbox,
        external or unique("a"),
        "router down",
        sender,
        [("log.txt", b"boot failed")],
    )
    a = int(first["conversation_id"])
    note = await client.post(
        f"/api/v1/conversations/{a}/messages",
        json={"text": "checked the line", "private": True},
        headers=headers,
    )
    assert note.status_code == 201, note.text
    await client.patch(f"/api/v1/conversations/{a}", json={"status": "closed"}, headers=headers)
    second = await _send(client, headers, inbox, unique("b"), "still down", sender)
    b = int(second["conversation_id"])
    assert a != b
    return inbox, a, b


async def _rows(conversation_id: int) -> list[tuple[Any, ...]]:
    rows = await _pool().fetch(
        "SELECT id, kind, text, created_at, sent_at FROM message WHERE conversation = $1 ORDER BY id",
        conversation_id,
    )
    return [tuple(r) for r in rows]


async def _timeline_text(conversation_id: int) -> list[str]:
    return [
        r["text"]
        for r in await _pool().fetch(
            "SELECT text FROM message WHERE conversation = $1 AND kind = 'event' ORDER BY id",
            conversation_id,
        )
    ]


async def test_merge_moves_everything_keeps_times_redirects_and_undo_restores(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    external = unique("first")
    inbox, a, b = await _two_conversations(client, headers, external=external)
    await client.post(f"/api/v1/conversations/{a}/tags", json={"tags": ["fiber"]}, headers=headers)
    before_a = await _rows(a)
    state_a = dict(
        await _pool().fetchrow(
            "SELECT status, resolved_at, unread_count, waiting_since, last_message_at FROM conversation"
            " WHERE id = $1",
            a,
        )
    )
    attachment = await _pool().fetchval(
        "SELECT a.id FROM attachment a JOIN message m ON m.id = a.message WHERE m.conversation = $1",
        a,
    )
    ref_a, ref_b = [
        await _pool().fetchval("SELECT ref FROM conversation WHERE id = $1", c) for c in (a, b)
    ]

    done = await client.post(
        f"/api/v1/conversations/{b}/merge", json={"source_ids": [a]}, headers=headers
    )
    assert done.status_code == 200, done.text
    record = done.json()
    assert record["target_id"] == b and record["source_ids"] == [a]
    assert record["moved_messages"] == {str(a): len(before_a)}

    # Every row of A is in B now, with its id and its times; the attachment came along.
    moved = {r[0]: r for r in await _rows(b)}
    for row in before_a:
        assert moved[row[0]] == row
    assert (
        await _pool().fetchval(
            "SELECT m.conversation FROM attachment a JOIN message m ON m.id = a.message WHERE a.id = $1",
            attachment,
        )
        == b
    )
    got = await client.get(f"/api/v1/attachments/{attachment}", headers=headers)
    assert got.status_code == 200 and got.content == b"boot failed"
    # The source is closed and points at the target; its URLs redirect there.
    source = await _pool().fetchrow("SELECT status, merged_into FROM conversation WHERE id = $1", a)
    assert (source["status"], source["merged_into"]) == ("closed", b)
    redirect = await client.get(f"/api/v1/conversations/{a}", headers=headers)
    assert redirect.status_code == 308
    assert redirect.headers["location"] == f"/api/v1/conversations/{b}"
    followed = await client.get(
        f"/api/v1/conversations/{a}/messages", headers=headers, follow_redirects=True
    )
    assert followed.status_code == 200
    assert {m["id"] for m in followed.json()["items"]} >= {r[0] for r in before_a}
    target = (await client.get(f"/api/v1/conversations/{b}", headers=headers)).json()
    assert "fiber" in target["tags"] and target["unread_count"] == 2
    # Both timelines say so.
    assert f"merged #{ref_a} into this conversation" in " ".join(await _timeline_text(b))
    assert any(f"merged this conversation into #{ref_b}" in t for t in await _timeline_text(a))

    # A reply posted on the source's URL lands in the target.
    note = await client.post(
        f"/api/v1/conversations/{a}/messages", json={"text": "n", "private": True}, headers=headers
    )
    assert note.status_code == 201 and note.json()["conversation_id"] == b
    await _pool().execute("DELETE FROM message WHERE id = $1", note.json()["id"])

    # A redelivered message of the source is a duplicate, answered from the target.
    again = await client.post(
        f"/api/v1/inboxes/{inbox}/messages",
        json={
            "external_id": external,
            "sender": {"kind": "phone", "address": "+4530001000"},
            "text": "router down",
        },
        headers=headers,
    )
    assert again.status_code == 200 and again.json()["conversation_id"] == b

    listed = (await client.get(f"/api/v1/conversations/{b}/merges", headers=headers)).json()
    assert [m["id"] for m in listed["items"]] == [record["id"]]

    undo = await client.post(f"/api/v1/conversations/{b}/unmerge", json={}, headers=headers)
    assert undo.status_code == 200, undo.text
    assert undo.json()["undone_at"] is not None
    assert [r for r in await _rows(a) if r[1] != "event" or r in before_a] == before_a
    restored = dict(
        await _pool().fetchrow(
            "SELECT status, resolved_at, unread_count, waiting_since, last_message_at FROM conversation"
            " WHERE id = $1",
            a,
        )
    )
    assert restored == state_a
    assert await _pool().fetchval("SELECT merged_into FROM conversation WHERE id = $1", a) is None
    back = (await client.get(f"/api/v1/conversations/{b}", headers=headers)).json()
    assert "fiber" not in back["tags"] and back["unread_count"] == 1
    assert (await client.get(f"/api/v1/conversations/{a}", headers=headers)).status_code == 200
    again_undo = await client.post(f"/api/v1/conversations/{b}/unmerge", json={}, headers=headers)
    assert again_undo.status_code == 404


async def test_merge_rules_permissions_and_bad_input(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox, a, b = await _two_conversations(client, headers)
    other = int(
        (await _send(client, headers, inbox, unique("c"), "hi", "+4530009999"))["conversation_id"]
    )
    agent = {"authorization": f"Bearer {await api_key_for(client, unique('ag') + '@example.com')}"}
    await _pool().execute(
        "INSERT INTO inbox_member (inbox, agent) SELECT $1, id FROM agent WHERE role = 'agent'",
        inbox,
    )
    across = await client.post(
        f"/api/v1/conversations/{b}/merge", json={"source_ids": [other]}, headers=agent
    )
    assert across.status_code == 403 and "contacts.merge_across" in across.text
    itself = await client.post(
        f"/api/v1/conversations/{b}/merge", json={"source_ids": [b]}, headers=headers
    )
    assert itself.status_code == 422 and "source_ids" in itself.text
    empty = await client.post(
        f"/api/v1/conversations/{b}/merge", json={"source_ids": []}, headers=headers
    )
    assert empty.status_code == 422
    bad = await client.post(
        f"/api/v1/conversations/{b}/merge", json={"source_ids": ["x"]}, headers=headers
    )
    assert bad.status_code == 400 and "source_ids" in bad.text
    unknown = await client.post(
        f"/api/v1/conversations/{b}/merge", json={"source_ids": [10**8]}, headers=headers
    )
    assert unknown.status_code == 404
    # The same contact's conversations: any agent may; across contacts needs the permission.
    same = await client.post(
        f"/api/v1/conversations/{b}/merge", json={"source_ids": [a]}, headers=agent
    )
    assert same.status_code == 200, same.text
    twice = await client.post(
        f"/api/v1/conversations/{other}/merge", json={"source_ids": [a]}, headers=headers
    )
    assert twice.status_code == 422 and "already merged" in twice.text
    admin_across = await client.post(
        f"/api/v1/conversations/{b}/merge", json={"source_ids": [other]}, headers=headers
    )
    assert admin_across.status_code == 200, admin_across.text


async def test_opposite_merges_at_once_neither_deadlock_nor_lose_rows(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    _, a, b = await _two_conversations(client, headers)
    rows = {r[0] for r in await _rows(a)} | {r[0] for r in await _rows(b)}
    admin = await _pool().fetchrow("SELECT id, name, email, role FROM agent LIMIT 1")
    actor = AgentInfo(**dict(admin))
    outcomes = await asyncio.gather(
        merge.merge(a, [b], actor=actor),
        merge.merge(b, [a], actor=actor),
        return_exceptions=True,
    )
    won = [o for o in outcomes if isinstance(o, dict)]
    assert all(isinstance(o, dict | merge.InvalidMerge) for o in outcomes), outcomes
    lost = [o for o in outcomes if isinstance(o, Exception)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], merge.InvalidMerge)
    target = won[0]["target_id"]
    assert rows <= {r[0] for r in await _rows(target)}
    source = a if target == b else b
    assert [r for r in await _rows(source) if r[1] != "event"] == []


async def test_split_moves_a_message_and_the_later_ones(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = (await make_api_inbox(client, headers))["id"]
    sender = "+4530002000"
    ids = []
    for n in range(4):
        ids.append((await _send(client, headers, inbox, unique("s"), f"m{n}", sender))["id"])
    conversation = await _pool().fetchval("SELECT conversation FROM message WHERE id = $1", ids[0])
    before = {r[0]: r for r in await _rows(conversation)}
    response = await client.post(
        f"/api/v1/conversations/{conversation}/split", json={"message_id": ids[2]}, headers=headers
    )
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["split_from"] == conversation and new["moved_message_ids"] == ids[2:]
    assert (
        new["contact"]["id"]
        == (await client.get(f"/api/v1/conversations/{conversation}", headers=headers)).json()[
            "contact"
        ]["id"]
    )
    assert new["inbox_id"] == inbox
    moved = [r for r in await _rows(new["id"]) if r[1] != "event"]
    assert moved == [before[i] for i in ids[2:]]  # same ids, texts and times
    assert [r[0] for r in await _rows(conversation) if r[1] != "event"] == ids[:2]
    assert any(f"into #{new['ref']}" in t for t in await _timeline_text(conversation))
    assert any("from #" in t for t in await _timeline_text(new["id"]))
    # A chosen set, and the errors.
    chosen = await client.post(
        f"/api/v1/conversations/{new['id']}/split", json={"message_ids": [ids[2]]}, headers=headers
    )
    assert chosen.status_code == 201, chosen.text
    assert [r[0] for r in await _rows(chosen.json()["id"]) if r[1] != "event"] == [ids[2]]
    everything = await client.post(
        f"/api/v1/conversations/{conversation}/split", json={"message_id": ids[0]}, headers=headers
    )
    assert everything.status_code == 422
    foreign = await client.post(
        f"/api/v1/conversations/{conversation}/split",
        json={"message_ids": [ids[0], ids[3]]},
        headers=headers,
    )
    assert foreign.status_code == 422 and "message_ids[1]" in foreign.text
    neither = await client.post(
        f"/api/v1/conversations/{conversation}/split", json={}, headers=headers
    )
    assert neither.status_code == 422
