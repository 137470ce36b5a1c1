"""CSAT test helpers: turn surveys on for an inbox, resolve, wait for the survey row, sweep."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from hub.db.engine import connection_pool
from hub.system import clock
from tests.conftest import eventually


async def enable(
    client: httpx.AsyncClient, headers: dict[str, str], inbox_id: int, **settings: Any
) -> dict[str, Any]:
    response = await client.put(
        f"/api/v1/inboxes/{inbox_id}/csat", json={"enabled": True, **settings}, headers=headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def set_status(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int, status: str
) -> None:
    response = await client.patch(
        f"/api/v1/conversations/{conversation_id}", json={"status": status}, headers=headers
    )
    assert response.status_code == 200, response.text


async def surveys(conversation_id: int) -> list[dict[str, Any]]:
    rows = await connection_pool().fetch(
        "SELECT * FROM csat_survey WHERE conversation = $1 ORDER BY id", conversation_id
    )
    return [dict(r) for r in rows]


async def scheduled(conversation_id: int, count: int = 1) -> list[dict[str, Any]]:
    """Wait until the subscriber has made `count` surveys for the conversation."""

    async def made() -> list[dict[str, Any]] | None:
        rows = await surveys(conversation_id)
        return rows if len(rows) >= count else None

    result: list[dict[str, Any]] = await eventually(made)
    return result


async def resolve_and_send(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int
) -> dict[str, Any]:
    """Resolve, wait for the schedule, move past the delay, sweep; the sent survey row."""
    from hub.csat import schedule

    await set_status(client, headers, conversation_id, "resolved")
    [row] = await scheduled(conversation_id)
    clock.advance(max(row["due_at"] - clock.now(), dt.timedelta(0)) + dt.timedelta(seconds=1))
    await schedule.sweep()
    [sent] = await surveys(conversation_id)
    assert sent["status"] == "sent", sent
    return sent


async def response_of(conversation_id: int) -> dict[str, Any] | None:
    row = await connection_pool().fetchrow(
        "SELECT * FROM csat_response WHERE conversation = $1", conversation_id
    )
    return dict(row) if row else None


async def csat_events(conversation_id: int) -> list[dict[str, Any]]:
    import msgspec

    rows = await connection_pool().fetch(
        "SELECT type, data FROM event WHERE conversation = $1 AND type LIKE 'csat.%' ORDER BY id",
        conversation_id,
    )
    return [{"type": r["type"], "data": msgspec.json.decode(r["data"])} for r in rows]


async def subscriber_caught_up() -> None:
    """Wait until the `csat` subscriber has read every event written so far."""
    newest = await connection_pool().fetchval("SELECT coalesce(max(id), 0) FROM event")

    async def caught_up() -> bool:
        cursor = await connection_pool().fetchval(
            "SELECT last_id FROM event_cursor WHERE subscriber = 'csat'"
        )
        return cursor is not None and cursor >= newest

    await eventually(caught_up)
