"""CRM sync end to end: the real app and its SAQ worker read the Splynx fake over HTTP into
PostgreSQL. Counts come from the fake (what was served) and from the tables (what was stored)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from hub.crm import sync
from hub.db.engine import connection_pool
from tests.conftest import eventually
from tests.crm.conftest import Crm

SEEDED = {"customer": 60, "service": 75, "invoice": 120, "ticket": 20}


async def table_counts() -> dict[str, int]:
    pool = connection_pool()
    return {
        entity: int(
            await pool.fetchval(f"SELECT count(*) FROM crm_{entity} WHERE deleted_at IS NULL")
        )
        for entity in SEEDED
    }


def fetched(run: dict[str, Any]) -> dict[str, int]:
    return {entity: run["counts"][entity]["fetched"] for entity in SEEDED}


def served_since(crm: Crm, before: dict[str, int]) -> dict[str, int]:
    names = {
        "customer": "customer",
        "service": "internet_service",
        "invoice": "invoice",
        "ticket": "ticket",
    }
    return {e: crm.fake.served[k] - before.get(k, 0) for e, k in names.items()}


async def test_full_then_incremental_reads_only_what_changed(crm: Crm) -> None:
    crm.fake.seed(60).spread()
    run = await crm.sync(full=True)
    assert fetched(run) == SEEDED
    assert await table_counts() == SEEDED
    assert run["cursor"]["done"] == ["customer", "service", "invoice", "ticket"]

    # Nothing changed: an incremental read gets only the newest record of each kind (the one at
    # the high-water mark, inside the overlap) and writes nothing.
    served = dict(crm.fake.served)
    run = await crm.sync()
    assert run["mode"] == "incremental"
    assert served_since(crm, served) == dict.fromkeys(SEEDED, 1)
    assert all(run["counts"][e]["changed"] == 0 for e in SEEDED)

    crm.fake.update("customer", 7, status="blocked")
    crm.fake.update("customer", 8, name="Renamed Customer")
    crm.fake.update("invoice", 3, status="paid", due="0.00")
    served = dict(crm.fake.served)
    run = await crm.sync()
    # The changed records, plus the newest of each kind at the old mark.
    assert served_since(crm, served) == {"customer": 3, "service": 1, "invoice": 2, "ticket": 1}
    assert {e: run["counts"][e]["changed"] for e in SEEDED} == {
        "customer": 2,
        "service": 0,
        "invoice": 1,
        "ticket": 0,
    }
    pool = connection_pool()
    assert await pool.fetchval("SELECT status FROM crm_customer WHERE external_id = 7") == "blocked"
    assert await pool.fetchval("SELECT status FROM crm_invoice WHERE external_id = 3") == "paid"
    # The mark moved to the new stamps: the next read starts from them.
    served = dict(crm.fake.served)
    await crm.sync()
    assert served_since(crm, served) == {"customer": 2, "service": 1, "invoice": 1, "ticket": 1}
    # The incremental filter is the one the contract names.
    lists = [s for s in crm.fake.calls("admin/customers/customer") if s.params]
    assert lists[-1].params["main_attributes[last_update][0]"] == ">="


async def test_a_full_sync_marks_records_gone_from_splynx(crm: Crm) -> None:
    crm.fake.seed(30)
    await crm.sync(full=True)
    crm.fake.remove("customer", 4)
    crm.fake.remove("invoice", 10)
    run = await crm.sync(full=True)
    assert run["counts"]["customer"]["deleted"] == 1
    assert run["counts"]["invoice"]["deleted"] == 1
    pool = connection_pool()
    gone = await pool.fetch("SELECT external_id FROM crm_customer WHERE deleted_at IS NOT NULL")
    assert [r["external_id"] for r in gone] == [4]
    # A second full sync over the same data writes nothing.
    run = await crm.sync(full=True)
    assert all(run["counts"][e]["changed"] == 0 for e in SEEDED)


async def test_a_token_expiring_mid_sync_is_renewed(crm: Crm) -> None:
    crm.fake.seed(60)
    crm.fake.expire_tokens_after(4)
    run = await crm.sync(full=True)
    assert fetched(run) == SEEDED
    assert crm.fake.renewals >= 1


async def test_429_and_500_are_retried(crm: Crm) -> None:
    crm.fake.seed(30)
    crm.fake.fail_next(2, 500, path="admin/finance/invoices")
    crm.fake.fail_next(1, 429, retry_after=0, path="admin/customers/customer")
    run = await crm.sync(full=True)
    assert run["counts"]["invoice"]["fetched"] == 60
    assert run["counts"]["customer"]["fetched"] == 30


async def test_wrong_credentials_fail_the_run_with_the_splynx_message(crm: Crm) -> None:
    crm.fake.seed(5)
    response = await crm.client.patch(
        f"/api/v1/crm/sources/{crm.source['id']}",
        json={"config": {"api_secret": "not the secret"}},
        headers=crm.headers,
    )
    assert response.status_code == 200, response.text
    run = await crm.sync(full=True, expect="failed")
    assert "Signature is invalid" in run["error"]
    source = (
        await crm.client.get(f"/api/v1/crm/sources/{crm.source['id']}", headers=crm.headers)
    ).json()
    assert "Signature is invalid" in source["last_error"]
    assert "api_secret" not in source["config"] and "api_secret" in source["secrets_set"]


async def test_a_malformed_record_is_kept_raw_and_the_rest_of_the_page_stored(crm: Crm) -> None:
    crm.fake.seed(10)
    crm.fake.update("customer", 5, date_add="31/12/2024")
    run = await crm.sync(full=True)
    assert run["counts"]["customer"] == {"fetched": 10, "changed": 9, "bad": 1, "deleted": 0}
    detail = (
        await crm.client.get(f"/api/v1/crm/sync-runs/{run['id']}", headers=crm.headers)
    ).json()
    assert len(detail["bad"]) == 1
    assert detail["bad"][0]["external_id"] == "5"
    assert "date_add" in detail["bad"][0]["error"]
    assert '"31/12/2024"' in detail["bad"][0]["raw"]
    assert await connection_pool().fetchval("SELECT count(*) FROM crm_customer") == 9


async def test_a_crash_mid_sync_is_continued_without_duplicates(crm: Crm) -> None:
    crm.fake.seed(60)
    # Slow invoice pages give the test time to kill the sync in the middle of them.
    crm.fake.slow_next(0.3, n=50, path="admin/finance/invoices")
    source_id = crm.source["id"]
    from hub.system.services import current

    settings = current().settings
    task = asyncio.create_task(
        sync.run_sync(
            source_id,
            full=True,
            secret_key=settings.secret_key,
            overlap=dt.timedelta(minutes=5),
            trigger="cli",
        )
    )
    pool = connection_pool()

    async def into_invoices() -> bool:
        count = await pool.fetchval("SELECT count(*) FROM crm_invoice")
        return bool(count and count >= 50)

    await eventually(into_invoices, timeout=30)
    task.cancel()  # the worker dies: no finally of ours records anything
    with pytest.raises(asyncio.CancelledError):
        await task
    crashed = await pool.fetchrow(
        "SELECT id, status, cursor FROM crm_sync_run ORDER BY id DESC LIMIT 1"
    )
    assert crashed["status"] == "running"
    stored_before = await pool.fetchval("SELECT count(*) FROM crm_invoice")
    assert 0 < stored_before < 120
    services_served = crm.fake.served["internet_service"]
    crm.fake._slow.clear()

    # The next run (even one asked for as incremental) continues the full one where it stopped.
    run = await crm.sync()
    assert run["resumed_from"] == crashed["id"]
    assert run["mode"] == "full"
    assert crm.fake.served["internet_service"] == services_served  # services were done
    assert run["counts"]["invoice"]["fetched"] == 120 - stored_before
    assert await table_counts() == SEEDED
    assert await pool.fetchval("SELECT count(DISTINCT external_id) = count(*) FROM crm_invoice")
    old = await pool.fetchrow("SELECT status, error FROM crm_sync_run WHERE id = $1", crashed["id"])
    assert old["status"] == "failed" and f"continued by run {run['id']}" in old["error"]


async def test_one_sync_per_source_at_a_time(crm: Crm) -> None:
    crm.fake.seed(30)
    crm.fake.slow_next(0.2, n=10, path="admin/customers/customer")
    first = await crm.client.post("/api/v1/crm/sync", json={"full": True}, headers=crm.headers)
    second = await crm.client.post("/api/v1/crm/sync", json={"full": True}, headers=crm.headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]


async def test_the_schedule_queues_each_due_source_once(crm: Crm) -> None:
    from hub.crm.jobs import schedule_crm_syncs

    crm.fake.seed(5)
    assert await schedule_crm_syncs({}) == 1  # never synced: a full sync
    assert await schedule_crm_syncs({}) == 0  # queued or running: not again
    pool = connection_pool()

    async def finished() -> bool:
        return bool(
            await pool.fetchval("SELECT status = 'succeeded' FROM crm_sync_run ORDER BY id LIMIT 1")
        )

    await eventually(finished, timeout=30)
    run = await pool.fetchrow("SELECT mode, trigger FROM crm_sync_run ORDER BY id LIMIT 1")
    assert dict(run) == {"mode": "full", "trigger": "cron"}
    assert await schedule_crm_syncs({}) == 0  # HUB_SPLYNX_SYNC_INTERVAL has not passed
    await pool.execute("UPDATE crm_sync_run SET created_at = now() - interval '11 minutes'")
    assert await schedule_crm_syncs({}) == 1
    assert (
        await pool.fetchval("SELECT mode FROM crm_sync_run ORDER BY id DESC LIMIT 1")
        == "incremental"
    )
