"""The one database engine (Piccolo's asyncpg pool), pointed at the resolved DSN at start-up."""

from __future__ import annotations

import os
from typing import cast

import asyncpg
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine


def configured_dsn() -> str:
    """The DSN piccolo_conf starts with: the one this process resolved, else the settings'."""
    resolved = os.environ.get("HUB_RESOLVED_DSN")
    if resolved:
        return resolved
    from hub.system.config import load_settings
    from hub.system.runtime import resolve

    return resolve(load_settings()).database_dsn


def engine() -> PostgresEngine:
    found = engine_finder()
    if not isinstance(found, PostgresEngine):
        raise RuntimeError("piccolo_conf.py must define a PostgresEngine named DB")
    return cast(PostgresEngine, found)


def connection_pool() -> asyncpg.Pool:
    """The running asyncpg pool (started with the services)."""
    pool = engine().pool
    assert pool is not None
    return pool


async def start(dsn: str, *, min_size: int = 2, max_size: int = 10) -> PostgresEngine:
    db = engine()
    if db.pool is not None:
        await db.close_connection_pool()
    db.config = {"dsn": dsn}
    await db.start_connection_pool(min_size=min_size, max_size=max_size, reset=_keep_session)
    return db


async def _keep_session(connection: object) -> None:
    """Skip asyncpg's reset query on every release (UNLISTEN, RESET ALL, …: a round trip each).

    The hub leaves no session state on pooled connections: transactions are scoped, advisory locks
    are transaction-level or released in `finally`, and LISTEN runs on the fan-out's own connection.
    """


async def stop() -> None:
    db = engine()
    if db.pool is not None:
        await db.close_connection_pool()
        db.pool = None
