"""Conversation search: the query syntax, phrases, prefixes, highlights (escaped), agents limited
to some inboxes, the waiting-time order, and the two ways of finding a page giving the same page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from hub.conversations import search
from tests.conftest import (
    admin_key,
    api_key_for,
    inbound,
    login,
    make_agent,
    make_api_inbox,
    unique,
)


@pytest.fixture
async def asgi(app: Litestar, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The running app called in-task, cookies kept (as in tests/test_inbox_pages.py)."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield http


def test_the_query_syntax() -> None:
    assert search.parse('fibre "power outage" rout* x*') == search.SearchQuery(
        words="fibre x", phrases=["power outage"], prefixes=["rout"]
    )
    # An unclosed quote runs to the end; lone stars and empty quotes are no terms.
    assert search.parse('"no light on') == search.SearchQuery(phrases=["no light on"])
    assert search.parse('* "" ').empty
    with pytest.raises(Exception, match="at most"):
        search.parse(" ".join(f"w{n}" for n in range(search.MAX_TERMS + 1)))


def test_highlight_parts_split_on_the_marks_only() -> None:
    raw = {"message_id": 7, "field": "text", "text": "a <b> \x02router\x03 & \x02red\x03"}
    assert search.highlight_parts(raw) == {
        "message_id": 7,
        "field": "text",
        "parts": [
            {"text": "a <b> ", "match": False},
            {"text": "router", "match": True},
            {"text": " & ", "match": False},
            {"text": "red", "match": True},
        ],
    }


# (WALK, WALK_MAX): the walk sees everything; a walk of one row extended; the index first.
WAYS = [(search.WALK, search.WALK_MAX), (1, 10), (1, 1)]


async def _ids(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[int]:
    response = await client.get("/api/v1/conversations", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


async def _pages(client: httpx.AsyncClient, headers: dict[str, str], q: str) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        params = {"q": q, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/conversations", params=params, headers=headers)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_phrase_prefix_and_words(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    texts = {
        "phrase": "the fibre outage in the north",
        "reversed": "an outage of the fibre",
        "router": "my router blinks",
        "routing": "routing table looks odd",
        "other": "nothing to see",
    }
    conv: dict[str, int] = {}
    for n, (name, text) in enumerate(texts.items()):
        sent = await inbound(client, headers, inbox["id"], unique(name), text, f"+4531000{n:03d}")
        conv[name] = sent.json()["conversation_id"]

    for walk, furthest in WAYS:  # the walk, a longer walk, the index first: the same answers
        monkeypatch.setattr(search, "WALK", walk)
        monkeypatch.setattr(search, "WALK_MAX", furthest)
        assert set(await _ids(client, headers, q="fibre outage")) == {
            conv["phrase"],
            conv["reversed"],
        }
        assert await _ids(client, headers, q='"fibre outage"') == [conv["phrase"]]
        assert await _ids(client, headers, q='"outage fibre"') == []
        assert set(await _ids(client, headers, q="rout*")) == {conv["router"], conv["routing"]}
        assert await _ids(client, headers, q="rout") == []  # a plain word is a whole word
        assert await _ids(client, headers, q='rout* "table looks"') == [conv["routing"]]
        assert await _pages(client, headers, "the") == await _ids(client, headers, q="the")


async def test_highlight_in_the_api_and_the_inbox_list_is_escaped(
    client: httpx.AsyncClient, asgi: httpx.AsyncClient
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    text = "<script>alert(1)</script> the router & <b>modem</b> rebooted"
    sent = (await inbound(client, headers, inbox["id"], unique("h"), text)).json()
    await inbound(client, headers, inbox["id"], unique("h2"), "no match here", "+4531999999")

    items = (
        await client.get("/api/v1/conversations", params={"q": "rout* modem"}, headers=headers)
    ).json()["items"]
    assert [c["id"] for c in items] == [sent["conversation_id"]]
    highlight = items[0]["highlight"]
    assert highlight["message_id"] == sent["id"] and highlight["field"] == "text"
    assert [p["text"] for p in highlight["parts"] if p["match"]] == ["router", "modem"]
    # An excerpt of the text as it is (it may start at a word), with the customer's markup kept.
    excerpt = "".join(p["text"] for p in highlight["parts"])
    assert excerpt in text and "alert(1)</script> the router & <b>modem</b> rebooted" in excerpt
    # Without a search there is no highlight.
    assert (
        "highlight"
        not in (await client.get("/api/v1/conversations", headers=headers)).json()["items"][0]
    )

    await make_agent("searcher@example.com", role="admin")
    await login(asgi, "searcher@example.com")
    page = (await asgi.get("/inbox", params={"q": "router"})).text
    assert "<mark>router</mark>" in page
    assert "alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "&lt;b&gt;modem&lt;/b&gt;" in page


async def test_agents_limited_to_some_inboxes_find_only_theirs(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await admin_key(client)
    mine = await make_api_inbox(client, headers)
    other = await make_api_inbox(client, headers)
    word = unique("zebra").replace("-", "")
    seen = []
    for n in range(3):
        sent = await inbound(client, headers, mine["id"], unique("m"), f"{word} {n}", f"+453200{n}")
        seen.append(sent.json()["conversation_id"])
        await inbound(client, headers, other["id"], unique("o"), f"{word} hidden", f"+453300{n}")
    await inbound(client, headers, other["id"], unique("o"), "onlyhere regards", "+4533999")
    agent_key = await api_key_for(client, unique("agent") + "@example.com")
    agent = {"authorization": f"Bearer {agent_key}"}
    me = (await client.get("/api/v1/auth/me", headers=agent)).json()["agent"]
    await client.put(
        f"/api/v1/inboxes/{mine['id']}/members", json={"agent_ids": [me["id"]]}, headers=headers
    )
    for walk, furthest in WAYS:
        monkeypatch.setattr(search, "WALK", walk)
        monkeypatch.setattr(search, "WALK_MAX", furthest)
        assert await _ids(client, agent, q=word) == seen[::-1]
        assert await _ids(client, agent, q="onlyhere") == []
        assert await _ids(client, agent, q=word, inbox_id=other["id"]) == []
        assert len(await _ids(client, headers, q=word)) == 6


async def test_waiting_order_search(
    client: httpx.AsyncClient, asgi: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    ids = []
    for n in range(4):
        text = "parrot squawks" if n != 2 else "quiet one"
        sent = await inbound(client, headers, inbox["id"], unique("w"), text, f"+453400{n}")
        ids.append(sent.json()["conversation_id"])
    # One answered: nobody waits on it, so it comes after the waiting ones.
    answer = await client.post(
        f"/api/v1/conversations/{ids[0]}/messages", json={"text": "on it"}, headers=headers
    )
    assert answer.status_code in (200, 201), answer.text
    await make_agent("waiter@example.com", role="admin")
    await login(asgi, "waiter@example.com")
    for walk, furthest in WAYS:
        monkeypatch.setattr(search, "WALK", walk)
        monkeypatch.setattr(search, "WALK_MAX", furthest)
        page = (await asgi.get("/inbox", params={"q": "parrot", "sort": "waiting"})).text
        order = [int(i) for i in _row_ids(page)]
        assert order == [ids[1], ids[3], ids[0]]
        assert page.count("<mark>parrot</mark>") == 3


def _row_ids(page: str) -> list[str]:
    return re.findall(r'<li class="row[^"]*" data-id="(\d+)"', page)


async def test_the_api_lists_by_waiting_time_page_by_page(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    ids = []
    for n in range(4):
        sent = await inbound(client, headers, inbox["id"], unique("w"), "still down", f"+453410{n}")
        ids.append(sent.json()["conversation_id"])
    answer = await client.post(
        f"/api/v1/conversations/{ids[1]}/messages", json={"text": "on it"}, headers=headers
    )
    assert answer.status_code in (200, 201), answer.text
    walked, cursor = [], None
    while True:
        params: dict[str, Any] = {"sort": "waiting", "limit": 1, "inbox_id": inbox["id"]}
        if cursor:
            params["cursor"] = cursor
        page = await client.get("/api/v1/conversations", params=params, headers=headers)
        assert page.status_code == 200, page.text
        walked += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    # The three still waiting, longest first; then the answered one.
    assert walked == [ids[0], ids[2], ids[3], ids[1]]
    searched = await client.get(
        "/api/v1/conversations", params={"sort": "waiting", "q": "down"}, headers=headers
    )
    assert [item["id"] for item in searched.json()["items"]] == walked
