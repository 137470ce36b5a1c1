"""`hub crm sync` as an operator runs it: a real process syncing from the fake over HTTP."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from hub.db.engine import connection_pool
from hub.system.config import Settings
from tests.crm.conftest import Crm

HUB = str(Path(sys.executable).with_name("hub"))


async def hub(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HUB_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        DATABASE_URL=str(settings.database_url),
        HUB_SECRET_KEY=settings.secret_key,
        HUB_DATA_DIR=str(settings.data_dir),
        COLUMNS="120",
    )
    # Not subprocess.run: the fake answers from this test's event loop, which must keep running.
    process = await asyncio.create_subprocess_exec(
        HUB, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_crm_sync_from_the_command_line(crm: Crm, settings: Settings) -> None:
    crm.fake.seed(30)
    code, out, err = await hub(settings, "crm", "sync", "--full")
    assert code == 0, out + err
    assert "full) succeeded" in out
    assert "customer 30 read / 30 changed" in out
    assert "invoice 60 read" in out
    assert "60/60" in err  # the invoices' progress bar, from Splynx's own count
    assert await connection_pool().fetchval("SELECT count(*) FROM crm_customer") == 30

    crm.fake.update("customer", 3, status="blocked")
    code, out, err = await hub(settings, "crm", "sync")
    assert code == 0, out + err
    assert "(incremental) succeeded" in out


async def test_a_failed_sync_exits_non_zero_with_the_message(crm: Crm, settings: Settings) -> None:
    crm.fake.forbidden.add("admin/customers")
    code, out, err = await hub(settings, "crm", "sync", "--full")
    assert "failed" in out
    assert code == 1
    assert "Permission denied" in err
