"""PostgreSQL unreachable: /ready and the API answer 503 (not 500) while it is away, the process
reconnects by itself, and no acknowledged message is missing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlparse

import httpx
import pytest

from hub.system.config import Settings
from tests.conftest import admin_key, eventually, inbound, make_api_inbox, serving, with_settings
from tests.hostile.tcp_proxy import TcpProxy


@pytest.fixture
async def proxy(settings: Settings) -> AsyncIterator[TcpProxy]:
    assert settings.database_url is not None
    parsed = urlparse(settings.database_url)
    running = TcpProxy(parsed.hostname or "127.0.0.1", parsed.port or 5432)
    await running.start()
    yield running
    await running.stop()


async def test_database_away_is_503_and_comes_back(settings: Settings, proxy: TcpProxy) -> None:
    from web.app import create_app

    assert settings.database_url is not None
    parsed = urlparse(settings.database_url)
    user = f"{parsed.username}@" if parsed.username else ""
    through_proxy = f"{parsed.scheme}://{user}127.0.0.1:{proxy.port}{parsed.path}"
    app = create_app(with_settings(settings, database_url=through_proxy), run_worker=False)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        headers = await admin_key(http)
        inbox = await make_api_inbox(http, headers)
        acked = [
            (await inbound(http, headers, inbox["id"], f"before-{n}")).status_code for n in range(3)
        ]
        assert acked == [201, 201, 201]

        proxy.cut()
        ready = await http.get("/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"
        for _ in range(3):  # pooled connections die one by one; every answer is a 503
            listing = await http.get("/api/v1/conversations", headers=headers)
            assert listing.status_code == 503, listing.text
            assert listing.json()["error"]["code"] == "unavailable"
            assert int(listing.headers["retry-after"]) > 0
        refused = await inbound(http, headers, inbox["id"], "during")
        assert refused.status_code == 503, refused.text  # the sender retries; nothing is lost

        proxy.restore()

        async def back() -> bool:
            return (await http.get("/ready")).status_code == 200

        assert await eventually(back, timeout=30)
        assert (await inbound(http, headers, inbox["id"], "during")).status_code == 201
        listing = await http.get(
            "/api/v1/conversations", params={"inbox_id": inbox["id"]}, headers=headers
        )
        assert listing.status_code == 200
        messages = await http.get(
            f"/api/v1/conversations/{listing.json()['items'][0]['id']}/messages", headers=headers
        )
        texts = [m["text"] for m in messages.json()["items"]]
        assert len(texts) == 4  # the three acknowledged before, and the retried one
