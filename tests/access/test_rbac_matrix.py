"""Issue 19: the access matrix. An agent of team A against a conversation in an inbox of team B
(conversations, messages, attachments, the event feed, the socket, search, contacts, pages), and
a visitor against another visitor's conversation and attachments: every cell must refuse, and
the same calls on what they may see must succeed (so the refusals are not an outage)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import websockets

from tests.access.helpers import agent_with, make_role
from tests.conftest import admin_key, inbound, login, quiet, unique
from tests.widget.conftest import (
    frames_until,
    make_webchat_inbox,
    start_session,
    visitor_headers,
)

SECRET = "secret-of-team-b"


async def _team(client: httpx.AsyncClient, admin: dict[str, str], members: list[int]) -> int:
    team = await client.post("/api/v1/teams", json={"name": unique("team")}, headers=admin)
    assert team.status_code == 201, team.text
    put = await client.put(
        f"/api/v1/teams/{team.json()['id']}/members", json={"agent_ids": members}, headers=admin
    )
    assert put.status_code == 200, put.text
    return int(team.json()["id"])


async def _inbox(client: httpx.AsyncClient, admin: dict[str, str], team: int) -> dict[str, Any]:
    inbox = await make_webchat_inbox(client, admin)
    moved = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}", json={"team_id": team}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    return inbox


async def _visitor_conversation(
    client: httpx.AsyncClient, inbox: dict[str, Any], text: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A visitor's session and the message (with an attachment) they sent."""
    session = await start_session(client, inbox, name=unique("visitor"))
    upload = await client.post(
        "/api/v1/widget/attachments",
        files={"data": ("card.txt", text.encode(), "text/plain")},
        headers=visitor_headers(session),
    )
    assert upload.status_code == 201, upload.text
    sent = await client.post(
        "/api/v1/widget/messages",
        json={"client_id": unique("c"), "text": text, "attachments": [upload.json()["upload"]]},
        headers=visitor_headers(session),
    )
    assert sent.status_code == 201, sent.text
    return session, sent.json()


@pytest.mark.parametrize("role", ["agent", "custom"])
async def test_an_agent_of_team_a_sees_nothing_of_team_b(
    client: httpx.AsyncClient, base_url: str, role: str
) -> None:
    admin = await admin_key(client)
    if role == "custom":  # everything but seeing every inbox
        role = await make_role(
            client, admin,
            ["conversations.read", "conversations.reply", "conversations.note",
             "conversations.update", "conversations.assign", "conversations.assign_others",
             "contacts.read", "contacts.edit", "crm.card", "sla.manage"],
        )  # fmt: skip
    email = unique("alpha") + "@example.com"
    alpha_id, alpha = await agent_with(role, email)
    team_a = await _team(client, admin, [alpha_id])
    team_b = await _team(client, admin, [])
    inbox_a, inbox_b = await _inbox(client, admin, team_a), await _inbox(client, admin, team_b)
    _, mine = await _visitor_conversation(client, inbox_a, "hello team a")
    _, theirs = await _visitor_conversation(client, inbox_b, SECRET)
    own, other = mine["conversation_id"], theirs["conversation_id"]
    other_attachment = theirs["attachments"][0]["id"]
    other_contact = (await client.get(f"/api/v1/conversations/{other}", headers=admin)).json()[
        "contact"
    ]["id"]

    leaks: list[str] = []

    async def refused(method: str, url: str, body: Any = None) -> None:
        response = await client.request(method, url, json=body, headers=alpha)
        if response.status_code not in (403, 404) or SECRET in response.text:
            leaks.append(f"{method} {url}: {response.status_code} {response.text[:120]}")

    for method, path, body in [
        ("GET", "", None), ("PATCH", "", {"status": "resolved"}), ("GET", "/messages", None),
        ("POST", "/messages", {"text": "hi"}), ("POST", "/messages", {"text": "n", "private": True}),
        ("POST", "/tags", {"tags": ["x"]}), ("DELETE", "/tags/x", None), ("POST", "/read", None),
        ("POST", "/take", None), ("GET", "/assignments", None), ("PUT", "/sla", {"policy_id": None}),
        ("PUT", "/requirements", {"requirements": []}), ("POST", "/typing", {"typing": True}),
    ]:  # fmt: skip
        await refused(method, f"/api/v1/conversations/{other}{path}", body)
    await refused("GET", f"/api/v1/attachments/{other_attachment}")
    await refused("GET", f"/api/v1/contacts/{other_contact}")
    await refused("GET", f"/api/v1/contacts/{other_contact}/crm")
    await refused("GET", f"/api/v1/inboxes/{inbox_b['id']}")
    await refused("POST", f"/api/v1/contacts/{other_contact}/crm-links", {"customer_id": 1})

    listed = await client.get("/api/v1/conversations", headers=alpha)
    ids = [c["id"] for c in listed.json()["items"]]
    if other in ids or own not in ids:
        leaks.append(f"list: {ids}")
    search = await client.get("/api/v1/conversations", params={"q": SECRET}, headers=alpha)
    if search.json()["items"]:
        leaks.append(f"search: {search.text[:200]}")
    by_inbox = await client.get(
        "/api/v1/conversations", params={"inbox_id": inbox_b["id"]}, headers=alpha
    )
    if by_inbox.status_code == 200 and by_inbox.json()["items"]:
        leaks.append("list by inbox")
    inboxes = [
        i["id"] for i in (await client.get("/api/v1/inboxes", headers=alpha)).json()["items"]
    ]
    if inbox_b["id"] in inboxes or inbox_a["id"] not in inboxes:
        leaks.append(f"inboxes: {inboxes}")
    feed = (await client.get("/api/v1/events", params={"after": 0}, headers=alpha)).json()["items"]
    if any(e["inbox_id"] == inbox_b["id"] or SECRET in str(e) for e in feed):
        leaks.append("event feed")
    if not any(e["inbox_id"] == inbox_a["id"] for e in feed):
        leaks.append("event feed lacks the agent's own inbox (the check would prove nothing)")

    # The pages, with the agent's session.
    await login(client, email)
    for url in (f"/inbox/conversations/{other}", f"/inbox/conversations/{other}/timeline"):
        page = await client.get(url)
        if page.status_code != 404 or SECRET in page.text:
            leaks.append(f"page {url}: {page.status_code}")
    for params in ({"q": SECRET}, {}):  # (the search box shows the query itself)
        page = await client.get("/inbox", params=params)
        if f"/inbox/conversations/{other}" in page.text:
            leaks.append(f"inbox page {params}")
    if f"/inbox/conversations/{own}" not in page.text:
        leaks.append("the inbox page lacks the agent's own conversation")
    own_page = await client.get(f"/inbox/conversations/{own}")
    if own_page.status_code != 200 or "hello team a" not in own_page.text:
        leaks.append(f"own conversation page: {own_page.status_code}")
    client.cookies.clear()

    # The socket: live events of team B never arrive; team A's do.
    key = alpha["authorization"].removeprefix("Bearer ")
    url = base_url.replace("http://", "ws://") + "/ws/agent?after=0"  # backfill, then live
    async with websockets.connect(url, subprotocols=["hub", f"hub.key.{key}"]) as socket:  # type: ignore[list-item]
        await inbound(client, admin, inbox_b["id"], unique("b"), text=SECRET, sender="+4550000009")
        await _visitor_conversation(client, inbox_a, "second for a")
        frames = await frames_until(socket, lambda f: any("second for a" in str(e) for e in f))
        frames += await quiet(socket, 0.5)
    if any(e.get("inbox_id") == inbox_b["id"] or SECRET in str(e) for e in frames):
        leaks.append("socket")
    assert leaks == []


async def test_a_visitor_sees_nothing_of_another_visitor(
    client: httpx.AsyncClient, base_url: str
) -> None:
    admin = await admin_key(client)
    inbox = await make_webchat_inbox(client, admin)
    alice, sent = await _visitor_conversation(client, inbox, SECRET)
    bob, _ = await _visitor_conversation(client, inbox, "bob here")
    attachment = sent["attachments"][0]
    leaks: list[str] = []
    as_bob = visitor_headers(bob)
    for url in (attachment["url"], f"/api/v1/attachments/{attachment['id']}"):
        response = await client.get(url, headers=as_bob)
        if response.status_code not in (401, 403, 404) or SECRET in response.text:
            leaks.append(f"GET {url}: {response.status_code}")
    messages = await client.get("/api/v1/widget/messages", headers=as_bob)
    if SECRET in messages.text or messages.json()["conversation_id"] == sent["conversation_id"]:
        leaks.append("messages")
    # Agent APIs do not take a visitor token.
    for url in (f"/api/v1/conversations/{sent['conversation_id']}", "/api/v1/events"):
        response = await client.get(url, headers=as_bob)
        if response.status_code != 401:
            leaks.append(f"GET {url}: {response.status_code}")
    socket_url = base_url.replace("http://", "ws://") + f"/ws/widget?token={bob['visitor_token']}"
    async with websockets.connect(
        socket_url, additional_headers={"origin": as_bob["origin"]}
    ) as socket:
        await client.post(
            f"/api/v1/conversations/{sent['conversation_id']}/messages",
            json={"text": "reply to alice " + SECRET},
            headers=admin,
        )
        if any(SECRET in str(f) for f in await quiet(socket, 1.0)):
            leaks.append("widget socket")
    mine = await client.get(attachment["url"], headers=visitor_headers(alice))
    if mine.status_code != 200:
        leaks.append("alice cannot read her own attachment (the check would prove nothing)")
    assert leaks == []
