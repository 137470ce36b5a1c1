"""Realtime fan-out between processes: Litestar channel backends chosen by URL.

PostgreSQL LISTEN/NOTIFY in the single-machine default, Redis pub/sub when `REDIS_URL` is set.
The fan-out only carries notifications; the durable record is always the event table, so a
message lost here is recovered by a client resuming from its last event id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis


class _PooledAsyncPgBackend(AsyncPgChannelsBackend):
    """Publishes through the shared connection pool instead of a new connection per message."""

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        from hub.db.engine import engine

        pool = engine().pool
        if pool is None:
            await super().publish(data, channels)
            return
        async with pool.acquire() as conn:
            for channel in channels:
                await conn.execute("SELECT pg_notify($1, $2)", channel, data.decode())


class Fanout:
    def __init__(self, url: str) -> None:
        self.url = url
        self._redis: Redis | None = None
        if url.startswith(("redis://", "rediss://")):
            self._redis = Redis.from_url(url)
            self.backend: ChannelsBackend = RedisChannelsPubSubBackend(
                redis=self._redis, key_prefix="HUB"
            )
        else:
            self.backend = _PooledAsyncPgBackend(dsn=url)
        self._started = False

    async def start(self) -> None:
        if not self._started:
            await self.backend.on_startup()
            self._started = True

    async def stop(self) -> None:
        if self._started:
            await self.backend.on_shutdown()
            self._started = False
        if self._redis is not None:
            await self._redis.aclose()

    async def publish(self, channel: str, data: bytes) -> None:
        await self.backend.publish(data, [channel])

    async def subscribe(self, channels: Iterable[str]) -> None:
        await self.backend.subscribe(list(channels))

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        await self.backend.unsubscribe(list(channels))

    async def listen(self) -> AsyncIterator[tuple[str, bytes]]:
        """Yield (channel, data) for subscribed channels until cancelled."""
        async for channel, data in self.backend.stream_events():
            yield channel, data if isinstance(data, bytes) else bytes(data)
            await asyncio.sleep(0)
