"""CRM fixtures: a running Splynx contract fake on a shared fake clock, and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.splynx import SplynxClient
from tests.conftest import serving
from tests.fakes.splynx import FakeClock, FakeSplynx

API_KEY = "hub-test-key"
API_SECRET = "hub-test-secret"


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
