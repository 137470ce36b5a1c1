"""CRM fixtures: a running Splynx contract fake on a shared fake clock, and a client for it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from adapters.splynx import SplynxClient
from tests.conftest import admin_key, eventually, serving
from tests.fakes.splynx import FakeClock, FakeSplynx

API_KEY = "hub-test-key"
API_SECRET = "hub-test-secret"
HOOK_SECRET = "whsecret"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake_splynx(clock: FakeClock) -> AsyncIterator[FakeSplynx]:
    fake = FakeSplynx(API_KEY, API_SECRET, clock=clock)
    async with serving(fake.app()) as url:
        fake.base_url = url
        yield fake


class Sleeps:
    """An injected sleep that records the delays instead of waiting them out."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def splynx(
    fake_splynx: FakeSplynx, clock: FakeClock, sleeps: Sleeps
) -> AsyncIterator[SplynxClient]:
    async with SplynxClient(
        fake_splynx.base_url + "/api/2.0/",
        API_KEY,
        API_SECRET,
        clock=clock,
        page_size=10,
        sleep=sleeps,
    ) as client:
        yield client


# The hub side: a real app (with its in-process SAQ worker) syncing from the fake over HTTP ---


@pytest.fixture
async def live_splynx() -> AsyncIterator[FakeSplynx]:
    """The fake on the real clock: the hub's client times its tokens with time.time()."""
    fake = FakeSplynx(API_KEY, API_SECRET, clock=time.time)
    async with serving(fake.app()) as url:
        fake.base_url = url
        yield fake


@dataclass
class Crm:
    client: httpx.AsyncClient
    headers: dict[str, str]  # an admin's API key
    fake: FakeSplynx
    source: dict[str, Any]

    async def sync(self, *, full: bool = False, expect: str = "succeeded") -> dict[str, Any]:
        """Start a sync through the API and wait for the worker to finish it."""
        response = await self.client.post(
            "/api/v1/crm/sync",
            json={"source_id": self.source["id"], "full": full},
            headers=self.headers,
        )
        assert response.status_code == 202, response.text
        run_id = response.json()["id"]

        async def finished() -> dict[str, Any] | None:
            run = (
                await self.client.get(f"/api/v1/crm/sync-runs/{run_id}", headers=self.headers)
            ).json()
            return run if run["status"] in ("succeeded", "failed") else None

        run = await eventually(finished, timeout=60)
        assert run["status"] == expect, run
        return dict(run)

    async def hook(self, payload: dict[str, Any], *, secret: str = HOOK_SECRET) -> httpx.Response:
        body = json.dumps(payload).encode()
        signature = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        return await self.client.post(
            f"/webhooks/splynx/{self.source['id']}",
            content=body,
            headers={"content-type": "application/json", "x-splynx-signature": signature},
        )

    async def card(self, contact_id: int) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/contacts/{contact_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        return dict(response.json()["crm"])


def hook_event(
    model: str, action: str, attributes: dict[str, Any], customer_id: int | None = None
) -> dict[str, Any]:
    return {
        "type": "event",
        "call": "",
        "data": {
            "source": "admin",
            "model": f"models\\admin\\{model}",
            "action": action,
            "date": "2025-06-15",
            "time": "10:00:00",
            "administrator_id": "1",
            "customer_id": str(
                customer_id or attributes.get("customer_id") or attributes.get("id")
            ),
            "result": "success",
            "attributes": attributes,
            "attributes_additional": [],
            "changed_attributes": None,
            "extra": None,
            "errors": None,
            "ip": "192.168.77.233",
        },
    }


def source_body(splynx: FakeSplynx) -> dict[str, Any]:
    """`POST /api/v1/crm/sources` for the fake Splynx with the contract's credentials."""
    return {
        "name": "Splynx",
        "kind": "splynx",
        "phone_region": "DK",
        "config": {
            "base_url": splynx.base_url,
            "api_key": API_KEY,
            "api_secret": API_SECRET,
            "hook_secret": HOOK_SECRET,
            "page_size": 25,
            # Retries on 429/5xx without the production pauses.
            "retry_backoff_seconds": 0.01,
        },
    }


@pytest.fixture
async def crm(client: httpx.AsyncClient, live_splynx: FakeSplynx) -> Crm:
    headers = await admin_key(client)
    response = await client.post(
        "/api/v1/crm/sources", json=source_body(live_splynx), headers=headers
    )
    assert response.status_code == 201, response.text
    return Crm(client, headers, live_splynx, dict(response.json()))
