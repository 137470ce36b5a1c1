"""Event delivery rounds: the events are read once for every subscriber, each still gets exactly
its own types after its own cursor, in id order, once; a failing subscriber keeps its cursor."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import httpx
import pytest

from hub.realtime import subscribers
from hub.realtime.events import Event


async def _emit(types: Sequence[str]) -> list[int]:
    from hub.db.engine import connection_pool
    from hub.realtime import events

    ids = []
    async with connection_pool().acquire() as conn, conn.transaction():
        emitted = await events.emit(
            conn,
            [{"type": t, "conversation": None, "inbox": None, "data": {"n": t}} for t in types],
        )
        ids = [e.id for e in emitted]
    return ids


async def test_a_round_hands_each_subscriber_its_events_once_in_order(
    quiet_client: httpx.AsyncClient, clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    got: dict[str, list[int]] = {"a": [], "b": [], "flaky": []}
    fail = {"flaky": True}

    def handler(name: str) -> subscribers.Handler:
        async def handle(batch: Sequence[Event]) -> None:
            if name == "flaky" and fail["flaky"]:
                raise RuntimeError("flaky subscriber fails this round")
            got[name].extend(e.id for e in batch)

        return handle

    registered = {
        "t-a": subscribers.Subscriber("t-a", ("t.one",), handler("a"), batch=2),
        "t-b": subscribers.Subscriber("t-b", ("t.one", "t.two"), handler("b"), batch=1000),
        "t-flaky": subscribers.Subscriber("t-flaky", ("t.two",), handler("flaky")),
    }
    monkeypatch.setattr(subscribers, "SUBSCRIBERS", registered)
    # A window smaller than the backlog: the rest is read by each subscriber on its own.
    monkeypatch.setattr(subscribers, "WINDOW", 3)
    first = await _emit(["t.one", "t.two", "t.one", "t.two", "t.one", "t.other"])
    conn = await asyncpg.connect(clean_db)
    try:
        # "t-b" starts behind the others (a subscriber added later starts at 0 too).
        await conn.execute(
            "INSERT INTO event_cursor (subscriber, last_id) VALUES ('t-a', $1), ('t-flaky', $1)",
            first[0] - 1,
        )
        await conn.execute(
            "INSERT INTO event_cursor (subscriber, last_id) VALUES ('t-b', $1)", first[1]
        )
        results = await subscribers.deliver_all()
        ones = [first[0], first[2], first[4]]
        assert got["a"] == ones
        assert got["b"] == first[2:5]
        assert got["flaky"] == [] and results["t-flaky"] == -1
        cursors = dict(await conn.fetch("SELECT subscriber, last_id FROM event_cursor"))
        assert cursors["t-a"] == cursors["t-b"] == first[-1]
        assert cursors["t-flaky"] == first[0] - 1  # not moved: the next round retries
        fail["flaky"] = False
        more = await _emit(["t.two", "t.one"])
        await subscribers.deliver_all()
        assert got["a"] == [*ones, more[1]]
        assert got["b"] == [*first[2:5], *more]
        assert got["flaky"] == [first[1], first[3], more[0]]
        # Nothing new: another round hands nothing to anyone.
        await subscribers.deliver_all()
        assert got["flaky"] == [first[1], first[3], more[0]] and len(got["b"]) == 5
    finally:
        await conn.close()


async def test_a_subscriber_held_by_another_worker_is_skipped(
    quiet_client: httpx.AsyncClient, clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    async def handle(batch: Sequence[Event]) -> None:
        seen.extend(e.id for e in batch)

    monkeypatch.setattr(
        subscribers, "SUBSCRIBERS", {"t-held": subscribers.Subscriber("t-held", ("t.h",), handle)}
    )
    ids = await _emit(["t.h"])
    conn = await asyncpg.connect(clean_db)
    try:
        await conn.execute("INSERT INTO event_cursor (subscriber, last_id) VALUES ('t-held', 0)")
        async with conn.transaction():
            await conn.execute("SELECT 1 FROM event_cursor WHERE subscriber = 't-held' FOR UPDATE")
            assert await subscribers.deliver("t-held") == 0
            assert seen == []
        assert await subscribers.deliver("t-held") == 1
        assert seen == ids
    finally:
        await conn.close()
