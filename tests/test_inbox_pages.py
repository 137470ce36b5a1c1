"""The inbox pages without a browser: queries per page, page size, access, sanitising, redirects.

Query counting: asyncpg's Connection methods are wrapped for the test, and count only inside
a ContextVar scope. The pages are requested through httpx's ASGI transport, which runs the app
in the test's own task, so the count is exactly that request's statements and nothing of the
in-process worker or the realtime relay.
"""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from tests.conftest import admin_key, inbound, login, make_agent, make_api_inbox, unique

_counter: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "query_counter", default=None
)
_METHODS = ("fetch", "fetchrow", "fetchval", "fetchmany", "execute", "executemany")


@pytest.fixture
def count_queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def wrap(original: Any) -> Any:
        @functools.wraps(original)
        async def counted(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            seen = _counter.get()
            # The pool's reset on release is bookkeeping, not a query the page asked for.
            if seen is not None and query != self.get_reset_query():
                seen.append(" ".join(query.split())[:120])
            return await original(self, query, *args, **kwargs)

        return counted

    for name in _METHODS:
        monkeypatch.setattr(asyncpg.Connection, name, wrap(getattr(asyncpg.Connection, name)))
    yield


@pytest.fixture
async def asgi(app: Litestar, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The running app (started by base_url) called in-task; cookies kept like a browser's."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar's narrower ASGI types
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield http


async def _queries(client: httpx.AsyncClient, url: str) -> tuple[list[str], httpx.Response]:
    from hub.auth import roles

    await roles.refresh(force=True)  # the role cache reloads every few seconds, not per page
    seen: list[str] = []
    token = _counter.set(seen)
    try:
        response = await client.get(url)
    finally:
        _counter.reset(token)
    return seen, response


async def _conversations(
    client: httpx.AsyncClient, headers: dict[str, str], inbox_id: int, count: int, start: int
) -> list[int]:
    """`count` conversations of distinct customers, each with a long subject-free message."""
    ids = []
    for n in range(start, start + count):
        response = await inbound(
            client,
            headers,
            inbox_id,
            f"seed-{n}",
            text=f"customer {n} writes: " + "my internet keeps dropping every evening " * 8,
            sender=f"+45301{n:05d}",
        )
        assert response.status_code == 201, response.text
        ids.append(int(response.json()["conversation_id"]))
    return ids


async def _tag_all(client: httpx.AsyncClient, headers: dict[str, str], ids: list[int]) -> None:
    for conversation_id in ids:
        response = await client.post(
            f"/api/v1/conversations/{conversation_id}/tags",
            json={"tags": ["fiber outage", "billing question", "vip customer"]},
            headers=headers,
        )
        assert response.status_code == 200, response.text


async def test_pages_use_a_fixed_number_of_queries_and_the_list_stays_small(
    client: httpx.AsyncClient, asgi: httpx.AsyncClient, count_queries: None
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    agent_id = await make_agent("counter@example.com", role="agent")
    await client.put(
        f"/api/v1/inboxes/{inbox['id']}/members", json={"agent_ids": [agent_id]}, headers=headers
    )
    await login(asgi, "counter@example.com")

    first = await _conversations(client, headers, inbox["id"], 5, 0)
    await _tag_all(client, headers, first)
    few_list, response = await _queries(asgi, "/inbox")
    assert response.status_code == 200, response.text
    few_open, response = await _queries(asgi, f"/inbox/conversations/{first[0]}")
    assert response.status_code == 200, response.text
    few_rows, _ = await _queries(asgi, "/inbox/rows?refresh=1")

    more = await _conversations(client, headers, inbox["id"], 45, 5)
    await _tag_all(client, headers, more)
    # 60 more timeline items in the open conversation too.
    for n in range(30):
        await inbound(client, headers, inbox["id"], f"again-{n}", sender="+4530100000")
        await client.post(
            f"/api/v1/conversations/{first[0]}/messages",
            json={"text": f"note {n}", "private": True},
            headers=headers,
        )
    many_list, response = await _queries(asgi, "/inbox")
    assert response.status_code == 200
    list_html = response.text
    many_open, response = await _queries(asgi, f"/inbox/conversations/{first[0]}")
    assert response.status_code == 200
    assert response.text.count('class="tl tl-') == 50  # the newest page of 61 items
    many_rows, _ = await _queries(asgi, "/inbox/rows?refresh=1&limit=100")

    assert len(few_list) == len(many_list), (few_list, many_list)
    assert len(few_open) == len(many_open), (few_open, many_open)
    assert len(few_rows) == len(many_rows), (few_rows, many_rows)
    # Session, the agent's availability, visible inboxes, navigation, the page of rows
    # (+ conversation, timeline, contact, the CRM card, the CSAT survey and answer).
    assert len(many_list) <= 5, many_list
    assert len(many_open) <= 10, many_open

    assert list_html.count('<li class="row') == 25  # one page of the 50
    assert len(list_html.encode()) < 100_000, len(list_html.encode())
    # Even the largest page the live refresh asks for (100 rows) stays under the limit.
    _, big = await _queries(asgi, "/inbox/rows?refresh=1&limit=100")
    assert big.text.count('<li class="row') == 50
    assert len(big.text.encode()) < 100_000, len(big.text.encode())


async def test_pages_need_a_session_and_keep_where_the_agent_was_going(
    asgi: httpx.AsyncClient,
) -> None:
    response = await asgi.get("/inbox/conversations/12?status=pending")
    assert response.status_code == 303
    assert (
        response.headers["location"]
        == "/login?next=%2Finbox%2Fconversations%2F12%3Fstatus%3Dpending"
    )
    partial = await asgi.get(
        "/inbox/rows",
        headers={"HX-Request": "true", "HX-Current-URL": "http://hub.test/inbox?q=router"},
    )
    assert partial.status_code == 401
    assert partial.headers["hx-redirect"] == "/login?next=%2Finbox%3Fq%3Drouter"
    login_page = await asgi.get("/login?next=//evil.example/x")
    assert 'data-next="/inbox"' in login_page.text
    login_page = await asgi.get("/login?next=/inbox/conversations/3")
    assert 'data-next="/inbox/conversations/3"' in login_page.text
    assert "script-src 'self'" in login_page.headers["content-security-policy"]


async def test_agents_see_only_their_inboxes_and_admin_pages_by_role(
    client: httpx.AsyncClient, asgi: httpx.AsyncClient
) -> None:
    headers = await admin_key(client)
    mine = await make_api_inbox(client, headers)
    other = await make_api_inbox(client, headers)
    agent_id = await make_agent("scoped@example.com")
    await client.put(
        f"/api/v1/inboxes/{mine['id']}/members", json={"agent_ids": [agent_id]}, headers=headers
    )
    seen = (await inbound(client, headers, mine["id"], "a", text="visible one")).json()
    hidden = (await inbound(client, headers, other["id"], "b", text="hidden one")).json()
    await login(asgi, "scoped@example.com")

    page = await asgi.get("/inbox")
    assert "visible one" in page.text
    assert "hidden one" not in page.text
    assert (await asgi.get(f"/inbox/conversations/{seen['conversation_id']}")).status_code == 200
    assert (await asgi.get(f"/inbox/conversations/{hidden['conversation_id']}")).status_code == 404
    assert (await asgi.get(f"/inbox/messages/{hidden['id']}")).status_code == 404
    assert (await asgi.get("/admin/inboxes")).status_code == 403
    assert (await asgi.get("/admin/api-keys")).status_code == 200


async def test_customer_html_is_sanitised_and_text_escaped(
    client: httpx.AsyncClient, asgi: httpx.AsyncClient
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    sent = (
        await inbound(
            client, headers, inbox["id"], unique("x"), text="<img src=x onerror=alert(1)> hi"
        )
    ).json()
    # The API channel carries text only; store an HTML body the way the email channel will.
    from hub.db.engine import engine

    pool = engine().pool
    assert pool is not None
    await pool.execute(
        "UPDATE message SET html = $2 WHERE id = $1",
        sent["id"],
        '<p onclick="x()">Hello <b>there</b></p><script>alert(2)</script>'
        '<a href="javascript:alert(3)">link</a><iframe src="https://evil.example"></iframe>'
        "<blockquote>old history</blockquote>",
    )
    await make_agent("reader@example.com", role="admin")
    await login(asgi, "reader@example.com")
    page = await asgi.get(f"/inbox/conversations/{sent['conversation_id']}")
    body = page.text
    assert "<b>there</b>" in body
    assert "alert(2)" not in body and "javascript:" not in body and "<iframe" not in body
    assert "onclick" not in body
    assert '<details class="quoted"><summary>Show quoted text</summary><blockquote>' in body
    # The list's preview is the text, escaped.
    listing = await asgi.get("/inbox")
    assert "&lt;img src=x onerror=alert(1)&gt; hi" in listing.text
    assert not re.search(r"<img src=x", listing.text)


async def test_admin_pages_render_for_admins(
    client: httpx.AsyncClient, asgi: httpx.AsyncClient
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers, callback_url="https://example.com/replies")
    await make_agent("boss@example.com", role="admin")
    await login(asgi, "boss@example.com")
    inboxes = await asgi.get("/admin/inboxes")
    assert inboxes.status_code == 200
    assert inbox["name"] in inboxes.text and "https://example.com/replies" in inboxes.text
    agents = await asgi.get("/admin/agents")
    assert agents.status_code == 200 and "boss@example.com" in agents.text
    keys = await asgi.get("/admin/api-keys")
    assert keys.status_code == 200 and "Create key" in keys.text


def _row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="row[^"]*" data-id="(\d+)"', html)]


def _more_url(html: str) -> str | None:
    match = re.search(r'hx-get="(/inbox/rows\?[^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


async def test_keyset_pages_by_activity_and_by_waiting_time(
    client: httpx.AsyncClient, asgi: httpx.AsyncClient
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    ids = await _conversations(client, headers, inbox["id"], 30, 0)
    # Answer every third customer: they wait no longer and sort after the waiting ones.
    for conversation_id in ids[::3]:
        await client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"text": "on it"},
            headers=headers,
        )
    await make_agent("pager@example.com", role="admin")
    await login(asgi, "pager@example.com")

    for sort, expected in (
        ("activity", list(reversed([i for i in ids if i not in ids[::3]]))),
        ("waiting", [i for i in ids if i not in ids[::3]] + ids[::3]),
    ):
        first = await asgi.get(f"/inbox?sort={sort}")
        seen = _row_ids(first.text)
        more = _more_url(first.text)
        assert len(seen) == 25 and more is not None
        second = await asgi.get(more)
        seen += _row_ids(second.text)
        assert _more_url(second.text) is None
        assert len(seen) == 30 == len(set(seen))
        # Small pages: the cursor lands inside either part of the order, and at its seam.
        small: list[int] = []
        url: str | None = f"/inbox/rows?sort={sort}"
        while url:
            page = await asgi.get(url + "&limit=7")
            small += _row_ids(page.text)
            url = _more_url(page.text)
        assert small == seen
        if sort == "waiting":
            assert seen == expected
        else:
            # The answered ones moved to the top (newest activity first).
            assert seen[:10] == list(reversed(ids[::3]))
            assert seen[10:] == expected


async def test_long_timelines_open_on_the_newest_and_load_earlier(
    client: httpx.AsyncClient, asgi: httpx.AsyncClient
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    for n in range(130):
        response = await inbound(client, headers, inbox["id"], f"long-{n}", text=f"line {n}")
    conversation_id = response.json()["conversation_id"]
    await make_agent("longread@example.com", role="admin")
    await login(asgi, "longread@example.com")
    page = await asgi.get(f"/inbox/conversations/{conversation_id}")
    pages = [page.text]
    while earlier := re.search(
        r'hx-get="(/inbox/conversations/\d+/timeline\?before=\d+)"', pages[-1]
    ):
        pages.append((await asgi.get(earlier.group(1))).text)
    shown = [re.findall(r"<div class=\"text\">line (\d+)</div>", html) for html in pages]
    assert shown == [
        [str(n) for n in range(80, 130)],
        [str(n) for n in range(30, 80)],
        [str(n) for n in range(30)],
    ]
