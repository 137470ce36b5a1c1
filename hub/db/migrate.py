"""Apply pending Piccolo migrations, one process at a time."""

from __future__ import annotations

import contextlib
import io

import asyncpg

import hub.db  # noqa: F401  (points Piccolo at hub/db/piccolo_conf.py)

# Any constant works; it only has to be the same in every process of this hub.
_LOCK_ID = 0x4855_4201


async def migrate(dsn: str) -> list[str]:
    """Run every pending migration; returns the ids applied. Safe to call from several processes."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from hub.db.engine import engine

    # Piccolo's migrations run on its engine, not on `conn`: point it at this database, or it
    # keeps the address of an earlier start in this process (a test's proxy, a previous DSN).
    db = engine()
    if db.pool is None:
        db.config = {"dsn": dsn}
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        before = await _applied(conn)
        out = io.StringIO()
        # Piccolo prints its progress; the hub logs what changed instead.
        with contextlib.redirect_stdout(out):
            result = await run_forwards(app_name="hub", migration_id="all")
        if not result.success:
            raise RuntimeError(f"migration failed: {result.message}\n{out.getvalue()}")
        return sorted(set(await _applied(conn)) - set(before))
    finally:
        with contextlib.suppress(Exception):
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
        await conn.close()


async def _applied(conn: asyncpg.Connection) -> list[str]:
    exists = await conn.fetchval("SELECT to_regclass('public.migration') IS NOT NULL")
    if not exists:
        return []
    return [
        r["name"] for r in await conn.fetch("SELECT name FROM migration WHERE app_name = 'hub'")
    ]
