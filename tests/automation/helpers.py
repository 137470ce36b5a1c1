"""Helpers of the automation tests: rules through the API, and waiting for their runs."""

from __future__ import annotations

from typing import Any

import httpx

from hub.db.engine import connection_pool
from hub.realtime import events
from tests.conftest import eventually, inbound, unique


async def make_rule(
    client: httpx.AsyncClient, headers: dict[str, str], **rule: Any
) -> dict[str, Any]:
    rule.setdefault("name", unique("rule"))
    response = await client.post("/api/v1/automation-rules", json=rule, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def conversation_from(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    inbox_id: int,
    text: str = "hello",
    **kw: Any,
) -> int:
    response = await inbound(client, headers, inbox_id, unique("m"), text=text, **kw)
    assert response.status_code == 201, response.text
    return int(response.json()["conversation_id"])


async def runs(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/automation-runs", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def wait_runs(
    client: httpx.AsyncClient, headers: dict[str, str], count: int = 1, **params: Any
) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        found = [r for r in await runs(client, headers, **params) if r["status"] != "running"]
        return found if len(found) >= count else None

    result: list[dict[str, Any]] = await eventually(enough, timeout=60)
    return result


async def conversation(
    client: httpx.AsyncClient, headers: dict[str, str], cid: int
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/conversations/{cid}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def timeline(cid: int) -> list[str]:
    rows = await connection_pool().fetch(
        "SELECT text FROM message WHERE conversation = $1 AND kind = 'event' ORDER BY id", cid
    )
    return [r["text"] for r in rows]


async def emit(kind: str, cid: int, data: dict[str, Any]) -> None:
    """An event another domain emits (csat.received, sla.warning, ...), as it would."""
    async with connection_pool().acquire() as conn, conn.transaction():
        # The row first, then the event ordering lock: the order every writer keeps (the
        # event's key-share on the conversation would otherwise wait on a writer that waits on us).
        inbox = await conn.fetchval("SELECT inbox FROM conversation WHERE id = $1 FOR UPDATE", cid)
        emitted = await events.emit(
            conn, [{"type": kind, "conversation": cid, "inbox": inbox, "data": data}]
        )
    await events.publish(emitted)
