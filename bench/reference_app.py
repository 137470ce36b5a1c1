"""The reference for bench/ingest.py: a bare Litestar POST handler doing one INSERT per request.

Same request body as the hub's API channel (external_id, sender, text); one asyncpg pool; one
INSERT ... RETURNING per request (autocommit, so one transaction and one WAL flush each). No auth,
no threading, no events: this is the floor the hub's per-message overhead is measured against.

Served by bench/ingest.py as:
    REF_DATABASE_URL=postgresql://... uvicorn bench.reference_app:app \
        --loop uvloop --http httptools --no-access-log --log-level warning
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, get, post

DSN = os.environ.get("REF_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/hub_bench_ingest")
POOL_SIZE = int(os.environ.get("REF_POOL_SIZE", "10"))  # the hub's pool is 10 too

SCHEMA = """
CREATE TABLE IF NOT EXISTS ref_message (
    id bigserial PRIMARY KEY,
    external_id text NOT NULL,
    sender_kind text NOT NULL,
    sender_address text NOT NULL,
    sender_name text NOT NULL DEFAULT '',
    text text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


class Sender(msgspec.Struct):
    kind: str
    address: str
    name: str = ""


class Inbound(msgspec.Struct):
    external_id: str
    sender: Sender
    text: str = ""


_pool: asyncpg.Pool | None = None


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    global _pool
    _pool = await asyncpg.create_pool(DSN, min_size=POOL_SIZE, max_size=POOL_SIZE)
    async with _pool.acquire() as conn, conn.transaction():
        # with --workers N every process starts here at once: one creates the table
        await conn.execute("SELECT pg_advisory_xact_lock(7340112)")
        await conn.execute(SCHEMA)
    try:
        yield
    finally:
        await _pool.close()


@post("/messages", status_code=201)
async def create_message(data: Inbound) -> dict[str, Any]:
    assert _pool is not None
    row = await _pool.fetchrow(
        "INSERT INTO ref_message (external_id, sender_kind, sender_address, sender_name, text)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at",
        data.external_id,
        data.sender.kind,
        data.sender.address,
        data.sender.name,
        data.text,
    )
    return {
        "id": row["id"],
        "external_id": data.external_id,
        "text": data.text,
        "created_at": row["created_at"].isoformat(),
    }


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[create_message, health], lifespan=[lifespan], debug=False)
