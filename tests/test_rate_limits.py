"""Webhooks and the widget are limited per client address: 429 with Retry-After, configurable."""

from __future__ import annotations

import httpx

from hub.system.config import Settings, load_settings
from tests.conftest import serving, with_settings


async def test_webhook_flood_from_one_address_is_answered_429(settings: Settings) -> None:
    from web.app import create_app

    app = create_app(
        with_settings(settings, webhook_rate_burst=3, webhook_rate_per_second=1), run_worker=False
    )
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:
        answers = [
            (await http.post("/webhooks/telegram/999999", content=b"{}")).status_code
            for _ in range(3)
        ]
        assert answers == [404, 404, 404]  # within the burst: handled as usual
        refused = await http.post("/webhooks/telegram/999999", content=b"{}")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"]["code"] == "rate_limited"


async def test_widget_requests_per_address_are_configurable(settings: Settings) -> None:
    from web.app import create_app

    app = create_app(
        with_settings(settings, widget_rate_burst=2, widget_rate_per_second=1), run_worker=False
    )
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:
        seen = [
            (await http.get("/api/v1/widget/config", params={"inbox": "nope"})).status_code
            for _ in range(3)
        ]
        assert 429 not in seen[:2] and seen[2] == 429, seen


def test_rate_settings_are_read_from_the_environment() -> None:
    loaded = load_settings(
        {"HUB_WEBHOOK_RATE_BURST": "50", "HUB_WIDGET_RATE_PER_SECOND": "7"}, dotenv=None
    )
    assert loaded.webhook_rate_burst == 50 and loaded.widget_rate_per_second == 7
