"""Conversation list, lifecycle, tags, timeline and access control through the REST API."""

from __future__ import annotations

import datetime as dt
import itertools

import httpx

from hub.conversations import lifecycle
from hub.db.engine import engine
from tests.conftest import admin_key, api_key_for, inbound, make_api_inbox, unique


async def test_list_filters_and_keyset_pages(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    for n in range(30):
        text = "router blinking red" if n % 10 == 0 else f"question number {n}"
        assert (
            await inbound(
                client, headers, inbox["id"], f"l-{n}", text=text, sender=f"+45300000{n:02d}"
            )
        ).status_code == 201
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 12, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/conversations", params=params, headers=headers)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 30 and len(set(seen)) == 30
    newest_first = (
        await client.get("/api/v1/conversations", params={"limit": 100}, headers=headers)
    ).json()["items"]
    stamps = [c["last_message_at"] for c in newest_first]
    assert stamps == sorted(stamps, reverse=True)
    assert newest_first[0]["preview"] == "question number 29"

    found = (
        await client.get("/api/v1/conversations", params={"q": "router red"}, headers=headers)
    ).json()["items"]
    assert len(found) == 3 and all(c["preview"] == "router blinking red" for c in found)

    first = newest_first[0]["id"]
    await client.patch(
        f"/api/v1/conversations/{first}",
        json={"status": "pending", "priority": "urgent"},
        headers=headers,
    )
    await client.post(
        f"/api/v1/conversations/{first}/tags", json={"tags": ["Outage", "fiber"]}, headers=headers
    )
    pending = (
        await client.get("/api/v1/conversations", params={"status": "pending"}, headers=headers)
    ).json()["items"]
    assert [c["id"] for c in pending] == [first]
    both = (
        await client.get(
            "/api/v1/conversations",
            params=[("status", "pending"), ("status", "open")],
            headers=headers,
        )
    ).json()
    assert len(both["items"]) == 25
    assert [
        c["id"]
        for c in (
            await client.get(
                "/api/v1/conversations", params={"priority": "urgent"}, headers=headers
            )
        ).json()["items"]
    ] == [first]
    tagged = (
        await client.get("/api/v1/conversations", params={"tag": "outage"}, headers=headers)
    ).json()["items"]
    assert [c["id"] for c in tagged] == [first] and tagged[0]["tags"] == ["fiber", "outage"]
    assert (
        await client.get("/api/v1/conversations", params={"assignee_id": "me"}, headers=headers)
    ).json()["items"] == []
    bad = await client.get("/api/v1/conversations", params={"status": "lost"}, headers=headers)
    assert bad.status_code == 422
    bad_cursor = await client.get(
        "/api/v1/conversations", params={"cursor": "nonsense"}, headers=headers
    )
    assert bad_cursor.status_code == 422


async def test_lifecycle_changes_are_events_and_timeline_lines(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    me = (await client.get("/api/v1/auth/me", headers=headers)).json()["agent"]
    inbox = await make_api_inbox(client, headers)
    conversation_id = (await inbound(client, headers, inbox["id"], "c-1")).json()["conversation_id"]
    url = f"/api/v1/conversations/{conversation_id}"
    changed = await client.patch(
        url, json={"assignee_id": me["id"], "priority": "high"}, headers=headers
    )
    assert changed.json()["assignee_id"] == me["id"] and changed.json()["priority"] == "high"
    assert (
        await client.get("/api/v1/conversations", params={"assignee_id": "me"}, headers=headers)
    ).json()["items"][0]["id"] == conversation_id
    assert (await client.patch(url, json={"status": "snoozed"}, headers=headers)).status_code == 422
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()
    snoozed = (
        await client.patch(url, json={"status": "snoozed", "snoozed_until": until}, headers=headers)
    ).json()
    assert snoozed["status"] == "snoozed" and snoozed["snoozed_until"] is not None
    await client.patch(url, json={"status": "resolved"}, headers=headers)
    await client.delete(f"{url}/tags/none-such", headers=headers)
    timeline = (await client.get(f"{url}/messages", headers=headers)).json()["items"]
    lines = [m["text"] for m in timeline if m["kind"] == "event"]
    name = me["name"]
    assert lines == [
        f"{name} set priority to high",
        f"{name} assigned the conversation to {name}",
        f"{name} snoozed the conversation until {until[:10]} {until[11:16]} UTC",
        f"{name} resolved the conversation",
    ]
    events = (await client.get("/api/v1/events", params={"after": 0}, headers=headers)).json()[
        "items"
    ]
    updates = [e for e in events if e["type"] == "conversation.updated"]
    assert [u["data"]["changed"].get("status") for u in updates] == [None, "snoozed", "resolved"]
    assert all(e["id"] < f["id"] for e, f in itertools.pairwise(events))
    missing = await client.patch(
        "/api/v1/conversations/999999", json={"status": "open"}, headers=headers
    )
    assert missing.status_code == 404


async def test_snoozed_conversations_wake_up(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    conversation_id = (await inbound(client, headers, inbox["id"], "s-1")).json()["conversation_id"]
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat()
    await client.patch(
        f"/api/v1/conversations/{conversation_id}",
        json={"status": "snoozed", "snoozed_until": until},
        headers=headers,
    )
    assert await lifecycle.wake_snoozed() == 0
    pool = engine().pool
    assert pool is not None
    await pool.execute("UPDATE conversation SET snoozed_until = now() - interval '1 second'")
    assert await lifecycle.wake_snoozed() == 1
    assert (await client.get(f"/api/v1/conversations/{conversation_id}", headers=headers)).json()[
        "status"
    ] == "open"


async def test_agent_without_access_sees_nothing_of_an_inbox(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    other = await make_api_inbox(client, headers)
    message = (await inbound(client, headers, inbox["id"], "a-1", text="secret stuff")).json()
    agent_key = await api_key_for(client, unique("agent") + "@example.com")
    agent = {"authorization": f"Bearer {agent_key}"}
    me = (await client.get("/api/v1/auth/me", headers=agent)).json()["agent"]
    conversation_url = f"/api/v1/conversations/{message['conversation_id']}"
    assert (await client.get(conversation_url, headers=agent)).status_code == 404
    assert (await client.get(f"{conversation_url}/messages", headers=agent)).status_code == 404
    assert (
        await client.post(f"{conversation_url}/messages", json={"text": "hi"}, headers=agent)
    ).status_code == 404
    assert (
        await client.patch(conversation_url, json={"status": "resolved"}, headers=agent)
    ).status_code == 404
    assert (await client.get("/api/v1/conversations", headers=agent)).json()["items"] == []
    assert (await client.get("/api/v1/events", headers=agent)).json()["items"] == []
    assert (
        await client.get(f"/api/v1/contacts/{message['author']['id']}", headers=agent)
    ).status_code == 404
    assert (await inbound(client, agent, inbox["id"], "a-2")).status_code == 404
    assert (
        await client.post("/api/v1/inboxes", json={"name": "x", "channel": "api"}, headers=agent)
    ).status_code == 403
    # Made a member of the other inbox only: still nothing of the first.
    assert (
        await client.put(
            f"/api/v1/inboxes/{other['id']}/members",
            json={"agent_ids": [me["id"]]},
            headers=headers,
        )
    ).status_code == 200
    assert (await client.get(conversation_url, headers=agent)).status_code == 404
    assert [
        i["id"] for i in (await client.get("/api/v1/inboxes", headers=agent)).json()["items"]
    ] == [other["id"]]
    # A member of the first inbox sees it.
    await client.put(
        f"/api/v1/inboxes/{inbox['id']}/members", json={"agent_ids": [me["id"]]}, headers=headers
    )
    assert (await client.get(conversation_url, headers=agent)).status_code == 200
    assert len((await client.get("/api/v1/events", headers=agent)).json()["items"]) >= 2


async def test_inbox_secrets_are_write_only(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(
        client, headers, callback_url="http://127.0.0.1:9/cb", callback_secret="s3cret-value"
    )
    assert "callback_secret" not in inbox["config"] and inbox["secrets_set"] == ["callback_secret"]
    assert inbox["limits"]["max_text_length"] == 65536
    fetched = (await client.get(f"/api/v1/inboxes/{inbox['id']}", headers=headers)).text
    assert "s3cret-value" not in fetched
    from hub.db.tables import Inbox

    stored = await Inbox.select(Inbox.config_encrypted).where(Inbox.id == inbox["id"]).first()
    assert stored is not None and "s3cret-value" not in stored["config_encrypted"]
    renamed = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"name": "SMS gateway", "config": {"callback_url": "http://127.0.0.1:9/new"}},
        headers=headers,
    )
    assert renamed.json()["name"] == "SMS gateway" and renamed.json()["secrets_set"] == [
        "callback_secret"
    ]
    generated = await make_api_inbox(client, headers)
    assert len(generated["generated_secrets"]["callback_secret"]) >= 32
    again = (await client.get(f"/api/v1/inboxes/{generated['id']}", headers=headers)).json()
    assert "generated_secrets" not in again and again["secrets_set"] == ["callback_secret"]
    bad = await client.post(
        "/api/v1/inboxes", json={"name": "x", "channel": "pigeon"}, headers=headers
    )
    assert bad.status_code == 422 and "pigeon" in bad.json()["error"]["message"]
    assert (await inbound(client, headers, inbox["id"], "before-delete")).status_code == 201
    assert (
        await client.delete(f"/api/v1/inboxes/{inbox['id']}", headers=headers)
    ).status_code == 204
    assert (await client.get(f"/api/v1/inboxes/{inbox['id']}", headers=headers)).status_code == 404
    # The inbox's channel was cached by the first message; deactivation must still refuse the next.
    assert (await inbound(client, headers, inbox["id"], "after-delete")).status_code == 404


async def test_reply_with_an_uploaded_attachment(
    client: httpx.AsyncClient, settings: object
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    conversation_id = (await inbound(client, headers, inbox["id"], "u-1")).json()["conversation_id"]
    uploaded = await client.post(
        "/api/v1/attachments",
        files={"data": ("speedtest.png", b"\x89PNG fake", "image/png")},
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    reply = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={
            "text": "Here is the result",
            "private": True,
            "attachments": [{"upload": uploaded.json()["upload"]}],
        },
        headers=headers,
    )
    assert reply.status_code == 201
    attachment = reply.json()["attachments"][0]
    assert attachment["filename"] == "speedtest.png" and attachment["content_type"] == "image/png"
    download = await client.get(attachment["url"], headers=headers)
    assert (
        download.content == b"\x89PNG fake"
        and download.headers["x-content-type-options"] == "nosniff"
    )
    forged = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "x", "private": True, "attachments": [{"upload": "eyJ9.forged"}]},
        headers=headers,
    )
    assert forged.status_code == 400


async def test_attachment_over_the_limit_is_413(
    client: httpx.AsyncClient, settings: object
) -> None:
    headers = await admin_key(client)
    limit = settings.attachment_max_bytes  # type: ignore[attr-defined]
    response = await client.post(
        "/api/v1/attachments",
        files={"data": ("big.bin", b"x" * (limit + 1), "application/octet-stream")},
        headers=headers,
    )
    assert response.status_code == 413
