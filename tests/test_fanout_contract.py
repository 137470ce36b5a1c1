"""One contract suite for the realtime fan-out, run against both backends (PostgreSQL and Redis).

Two Fanout instances stand for two processes: what one publishes, the other receives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hub.realtime.fanout import Fanout


@pytest.fixture(params=["postgres", "redis"])
async def pair(
    request: pytest.FixtureRequest, clean_db: str, redis_url: str
) -> AsyncIterator[tuple[Fanout, Fanout]]:
    url = clean_db if request.param == "postgres" else redis_url
    one, two = Fanout(url), Fanout(url)
    await one.start()
    await two.start()
    try:
        yield one, two
    finally:
        await one.stop()
        await two.stop()


async def _collect(fanout: Fanout, count: int, out: list[tuple[str, bytes]]) -> None:
    async for item in fanout.listen():
        out.append(item)
        if len(out) >= count:
            return


async def test_published_message_reaches_the_other_process(pair: tuple[Fanout, Fanout]) -> None:
    publisher, subscriber = pair
    await subscriber.subscribe(["hub_events"])
    await asyncio.sleep(0.2)  # Redis subscriptions are established asynchronously
    received: list[tuple[str, bytes]] = []
    listener = asyncio.create_task(_collect(subscriber, 3, received))
    for n in range(3):
        await publisher.publish("hub_events", f'{{"n": {n}}}'.encode())
    await asyncio.wait_for(listener, timeout=10)
    assert received == [("hub_events", f'{{"n": {n}}}'.encode()) for n in range(3)]


async def test_other_channels_are_not_delivered(pair: tuple[Fanout, Fanout]) -> None:
    publisher, subscriber = pair
    await subscriber.subscribe(["wanted"])
    await asyncio.sleep(0.2)
    received: list[tuple[str, bytes]] = []
    listener = asyncio.create_task(_collect(subscriber, 1, received))
    await publisher.publish("unwanted", b"no")
    await publisher.publish("wanted", b"yes")
    await asyncio.wait_for(listener, timeout=10)
    assert received == [("wanted", b"yes")]


async def test_unsubscribed_channel_stops_delivering(pair: tuple[Fanout, Fanout]) -> None:
    publisher, subscriber = pair
    await subscriber.subscribe(["a", "b"])
    await asyncio.sleep(0.2)
    await subscriber.unsubscribe(["a"])
    await asyncio.sleep(0.2)
    received: list[tuple[str, bytes]] = []
    listener = asyncio.create_task(_collect(subscriber, 1, received))
    await publisher.publish("a", b"gone")
    await publisher.publish("b", b"kept")
    await asyncio.wait_for(listener, timeout=10)
    assert received == [("b", b"kept")]
