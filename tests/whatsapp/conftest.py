"""WhatsApp fixtures: running contract fakes and inboxes pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import admin_key, serving
from tests.whatsapp.fake_graph import FakeGraph
from tests.whatsapp.fake_twilio import FakeTwilio
from tests.whatsapp.helpers import (
    ACCESS_TOKEN,
    ACCOUNT_SID,
    AUTH_TOKEN,
    PHONE_NUMBER_ID,
    cloud_config,
    create_inbox,
    twilio_config,
)


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    async with serving(fake.app()) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
async def fake_graph() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph(ACCESS_TOKEN, PHONE_NUMBER_ID)
    async with serving(fake.app()) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
async def twilio_inbox(
    client: httpx.AsyncClient, fake_twilio: FakeTwilio
) -> tuple[dict[str, str], dict[str, Any]]:
    headers = await admin_key(client)
    response = await create_inbox(client, headers, "whatsapp_twilio", twilio_config(fake_twilio))
    assert response.status_code == 201, response.text
    return headers, response.json()


@pytest.fixture
async def cloud_inbox(
    client: httpx.AsyncClient, fake_graph: FakeGraph
) -> tuple[dict[str, str], dict[str, Any]]:
    headers = await admin_key(client)
    response = await create_inbox(client, headers, "whatsapp_cloud", cloud_config(fake_graph))
    assert response.status_code == 201, response.text
    return headers, response.json()
