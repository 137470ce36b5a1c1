"""Webhook fuzzing per adapter: the captured fixtures, mutated by hypothesis, POSTed signed (as
the provider would) to the live app. Every input ends as a stored message (200), a 400 with the
raw payload kept, or a 403 — never a 500."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as run_settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from adapters.whatsapp.cloud import signature as cloud_signature
from hub.db.engine import engine
from hub.system.config import Settings
from tests.conftest import admin_key, with_settings
from tests.telegram.conftest import FIXTURES as TELEGRAM_FIXTURES
from tests.telegram.conftest import bot_api, make_inbox
from tests.telegram.fake_bot_api import FakeBotApi
from tests.whatsapp.conftest import fake_graph, fake_twilio
from tests.whatsapp.fake_graph import FakeGraph
from tests.whatsapp.fake_twilio import FakeTwilio
from tests.whatsapp.helpers import (
    APP_SECRET,
    AUTH_TOKEN,
    FIXTURES,
    cloud_config,
    create_inbox,
    twilio_config,
)

__all__ = ["bot_api", "fake_graph", "fake_twilio"]  # fixtures used here
EXAMPLES = 60

NASTY = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "\x00", "\ud800", "<script>", "9" * 40, "-1", "null", "💥" * 100]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _seeds(folder: Any) -> list[Any]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Any]) -> Any:
    """A fixture with some values replaced, keys dropped or added."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                # Hypothesis leans to small numbers: 0 keeps the fixture as captured.
                roll = draw(st.integers(0, 9))
                if roll == 9:
                    continue  # a field the provider did not send
                out[key] = draw(NASTY) if roll == 8 else walk(item)
            if draw(st.integers(0, 9)) == 9:
                out[draw(st.text(max_size=8))] = draw(NASTY)
            return out
        if isinstance(value, list):
            return [walk(v) for v in value]
        return draw(NASTY) if draw(st.integers(0, 5)) == 5 else value

    return walk(draw(st.sampled_from(seeds)))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_settings(settings, webhook_rate_burst=100_000, webhook_rate_per_second=10_000)


def _fuzz(send: Any, strategy: Any) -> list[tuple[int, str]]:
    """Run hypothesis in this (worker) thread; the statuses seen, and anything unexpected."""
    seen: list[tuple[int, str]] = []

    @run_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(payload=strategy)
    def probe(payload: Any) -> None:
        response = send(payload)
        seen.append((response.status_code, response.text[:300]))
        assert response.status_code in (200, 400, 403), response.text
        if response.status_code == 400:
            assert response.json()["error"]["details"]["raw_payload_id"] > 0

    probe()
    # Both ends were reached: payloads stored and payloads refused (and kept).
    assert {200, 400} <= {status for status, _ in seen}, seen[:5]
    return seen


async def _stored() -> tuple[int, int]:
    pool = engine().pool
    assert pool is not None
    messages = await pool.fetchval("SELECT count(*) FROM message")
    kept = await pool.fetchval("SELECT count(*) FROM raw_payload")
    return int(messages), int(kept)


async def test_telegram_webhook_fuzz(
    client: httpx.AsyncClient, base_url: str, bot_api: FakeBotApi
) -> None:
    headers = await admin_key(client)
    await make_inbox(client, headers, bot_api)
    secret = bot_api.webhook["secret_token"]
    url = base_url + urlparse(bot_api.webhook["url"]).path  # registered on the public URL

    def send(update: Any) -> httpx.Response:
        return httpx.post(
            url,
            content=json.dumps(update).encode("utf-8", "surrogatepass"),
            headers={"content-type": "application/json", "x-telegram-bot-api-secret-token": secret},
            timeout=30,
        )

    seen = await asyncio.to_thread(_fuzz, send, mutated(_seeds(TELEGRAM_FIXTURES)))
    messages, kept = await _stored()
    assert messages > 0
    assert kept == sum(1 for status, _ in seen if status == 400)


async def test_whatsapp_cloud_webhook_fuzz(
    client: httpx.AsyncClient, base_url: str, fake_graph: FakeGraph
) -> None:
    headers = await admin_key(client)
    inbox = (await create_inbox(client, headers, "whatsapp_cloud", cloud_config(fake_graph))).json()

    def send(payload: Any) -> httpx.Response:
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8", "surrogatepass")
        return httpx.post(
            f"{base_url}/webhooks/whatsapp/{inbox['id']}",
            content=body,
            headers={
                "content-type": "application/json",
                "x-hub-signature-256": cloud_signature(APP_SECRET, body),
            },
            timeout=30,
        )

    seen = await asyncio.to_thread(_fuzz, send, mutated(_seeds(FIXTURES / "cloud")))
    messages, kept = await _stored()
    assert messages > 0 and kept == sum(1 for status, _ in seen if status == 400)


async def test_twilio_webhook_fuzz(
    client: httpx.AsyncClient, base_url: str, settings: Settings, fake_twilio: FakeTwilio
) -> None:
    headers = await admin_key(client)
    inbox = (
        await create_inbox(client, headers, "whatsapp_twilio", twilio_config(fake_twilio))
    ).json()
    path = f"/webhooks/twilio/{inbox['id']}"

    def send(form: Any) -> httpx.Response:
        # A form carries strings only: whatever the mutation produced, as text.
        fields = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in form.items()}
        fields = {k.replace("\ud800", ""): v.replace("\ud800", "") for k, v in fields.items()}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            settings.public_url + path, fields
        )
        return httpx.post(
            base_url + path,
            content=urlencode(fields).encode(),
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "x-twilio-signature": signature,
            },
            timeout=30,
        )

    seen = await asyncio.to_thread(_fuzz, send, mutated(_seeds(FIXTURES / "twilio")))
    messages, kept = await _stored()
    assert messages > 0 and kept == sum(1 for status, _ in seen if status == 400)
