"""Webhook fixtures: quick retries (1 s, then 2 s), few attempts, a low disabling threshold, and
a running fake consumer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.system.config import Settings
from tests.conftest import serving, with_settings
from tests.fakes.webhook_receiver import WebhookReceiver


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_settings(
        settings, webhook_retry_seconds=1, webhook_max_attempts=3, webhook_disable_after=2
    )


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[WebhookReceiver, str]]:
    fake = WebhookReceiver()
    async with serving(fake.app()) as url:
        yield fake, f"{url}/hook"
