"""Telegram test helpers: a running fake Bot API and inboxes pointed at it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import adapters.telegram
from tests.conftest import serving, unique
from tests.telegram.fake_bot_api import FakeBotApi

FIXTURES = Path(adapters.telegram.__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def file_ids(value: Any) -> list[str]:
    """Every file_id in a payload, so the fake can serve them."""
    if isinstance(value, dict):
        found = [value["file_id"]] if isinstance(value.get("file_id"), str) else []
        return found + [f for v in value.values() for f in file_ids(v)]
    if isinstance(value, list):
        return [f for v in value for f in file_ids(v)]
    return []


def content_for(file_id: str) -> bytes:
    return b"telegram-file:" + file_id.encode()


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi()
    async with serving(fake.app()) as url:
        fake.base_url = url
        yield fake


async def create_inbox(
    client: httpx.AsyncClient, headers: dict[str, str], fake: FakeBotApi, **config: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/inboxes",
        json={
            "name": unique("telegram"),
            "channel": "telegram",
            "config": {"bot_token": fake.token, "api_base_url": fake.base_url, **config},
        },
        headers=headers,
    )


async def make_inbox(
    client: httpx.AsyncClient, headers: dict[str, str], fake: FakeBotApi, **config: Any
) -> dict[str, Any]:
    response = await create_inbox(client, headers, fake, **config)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def post_update(
    client: httpx.AsyncClient,
    inbox_id: int,
    update: dict[str, Any],
    secret: str | None,
) -> httpx.Response:
    """POST an update to the inbox's webhook the way Telegram does."""
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-telegram-bot-api-secret-token"] = secret
    return await client.post(
        f"/webhooks/telegram/{inbox_id}", content=json.dumps(update), headers=headers
    )
