"""Fixtures for the web chat widget: web chat inboxes, visitor sessions, sockets of both sides."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.chromium import CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM
from tests.conftest import unique

SITE = "https://shop.example.com"  # the embedding site the API tests pretend to be


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """The buckets are per process: every test starts with full ones."""
    from web.widget import limits

    for bucket in limits.ALL:
        bucket.reset()
    yield


async def make_webchat_inbox(
    client: httpx.AsyncClient, headers: dict[str, str], **config: Any
) -> dict[str, Any]:
    config.setdefault("allowed_origins", [SITE])
    response = await client.post(
        "/api/v1/inboxes",
        json={"name": unique("chat"), "channel": "webchat", "config": config},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def start_session(
    client: httpx.AsyncClient, inbox: dict[str, Any], origin: str = SITE, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/widget/sessions",
        json={"inbox_token": inbox["inbox_token"], **fields},
        headers={"origin": origin},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def visitor_headers(session: dict[str, Any], origin: str = SITE) -> dict[str, str]:
    return {"x-visitor-token": session["visitor_token"], "origin": origin}


async def visitor_says(
    client: httpx.AsyncClient, session: dict[str, Any], text: str, client_id: str | None = None
) -> httpx.Response:
    return await client.post(
        "/api/v1/widget/messages",
        json={"client_id": client_id or unique("c"), "text": text},
        headers=visitor_headers(session),
    )


async def agent_says(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    conversation_id: int,
    text: str,
    private: bool = False,
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": text, "private": private},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def widget_ws(base_url: str, session: dict[str, Any], after: int | None = None) -> str:
    url = base_url.replace("http://", "ws://") + f"/ws/widget?token={session['visitor_token']}"
    return url if after is None else f"{url}&after={after}"


def agent_ws(base_url: str, headers: dict[str, str]) -> str:
    token = headers["authorization"].split(" ", 1)[1]
    return base_url.replace("http://", "ws://") + f"/ws/agent?token={token}"


async def frames_until(
    socket: Any, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 10
) -> list[dict[str, Any]]:
    """Read JSON frames until `done(frames so far)` holds."""
    received: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while not done(received):
            received.append(json.loads(await socket.recv()))
    return received


def texts(frames: list[dict[str, Any]]) -> list[str]:
    return [f["data"]["text"] for f in frames if f.get("type") == "message.created"]


@pytest.fixture(scope="module")
async def widget_browser() -> AsyncIterator[Any]:
    """Debian's Chromium driven by Playwright, in the session's event loop (the app runs there)."""
    playwright = pytest.importorskip("playwright.async_api")
    if not HAVE_CHROMIUM:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    async with playwright.async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def host_site(hub_url: str, page: dict[str, str]) -> Any:
    """A tiny site on another origin that embeds the widget, with hostile CSS of its own."""
    from litestar import Litestar, MediaType, get

    @get("/", media_type=MediaType.HTML)
    async def index() -> str:
        return (
            "<!doctype html><html><head><title>Shop</title>"
            "<style>* { color: red !important; font-size: 40px; font-family: serif }"
            " div, button { display: block; border: 5px solid lime; padding: 30px }</style>"
            "</head><body><h1>Our shop</h1>"
            f'<script src="{hub_url}/widget.js" data-inbox="{page["token"]}" async></script>'
            "</body></html>"
        )

    return Litestar([index], logging_config=None)
