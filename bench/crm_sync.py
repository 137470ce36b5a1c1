"""CRM sync: a full sync of a big ISP from the Splynx fake, against a bare read of the same fake.

    .venv/bin/python bench/crm_sync.py [--customers 20000] [--services 30000] [--invoices 200000]

- The fake (tests/fakes/splynx.py) runs in a process of its own, seeded with the records.
- Ceiling: this process logs in and reads every page with the same keyset queries and page
  size, only decoding the JSON: what the fake and the network can deliver.
- Hub: a real `hub worker` process (PostgreSQL queue) runs the `crm_sync` job; records/s is
  every record read over the time from enqueue to the run's end; the worker's peak RSS is its
  VmHWM from /proc.
- Incremental: 1,000 invoices changed at the fake, then an incremental sync, enqueue to end.
- Card: p95 of `crm_card_json` for 1,000 contacts that each match a customer.

A figure, not a test: nothing here is timed in the test suite. docs/performance.md has results.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from bench.common import BIN, free_port, percentile, recreate_database  # noqa: E402

DATABASE = "hub_bench_crm"
SECRET = "bench-secret-" + "k" * 40
KEY, API_SECRET = "bench-key", "bench-secret"
PAGE = 500
PATHS = {
    "customer": "admin/customers/customer",
    "service": "admin/customers/customer/0/internet-services",
    "invoice": "admin/finance/invoices",
    "ticket": "admin/support/tickets",
}


# The fake's process -------------------------------------------------------------------------


def seed(fake: Any, customers: int, services: int, invoices: int) -> None:
    """Records written straight into the fake's tables (its add() is for tests: too slow here)."""
    day = fake.day(20)

    def stamp(i: int, n: int) -> str:
        # A minute apart, newest last: an incremental read's overlap (5 minutes) holds a few.
        return str(fake.stamp(1 + (n - i) / 1440))

    for i in range(1, customers + 1):
        fake.records["customer"][i] = {
            "id": str(i), "login": f"cust{i:06d}", "name": f"Customer {i}",
            "status": ("active", "active", "blocked", "disabled")[i % 4], "partner_id": "1",
            "location_id": "1", "email": f"cust{i}@bench.example" + (f", alt{i}@bench.example" if i % 5 == 0 else ""),
            "billing_email": "", "phone": f"2{i:07d}", "category": "person", "street_1": f"{i} Fiber Street",
            "zip_code": "8000", "city": "Aarhus", "date_add": day, "billing_type": "recurring",
            "mrr_total": "29.00", "last_online": stamp(i, customers), "last_update": stamp(i, customers), "customer_labels": [],
            "additional_attributes": {},
        }  # fmt: skip
    for i in range(1, services + 1):
        fake.records["internet_service"][i] = {
            "id": str(i), "customer_id": str(i % customers + 1), "tariff_id": "1", "status": "active",
            "description": "Fiber 300/300", "quantity": "1", "unit_price": "29.00", "start_date": day,
            "end_date": "0000-00-00", "login": f"svc{i}", "router_id": "1", "ipv4": "", "ipv6": "",
            "mac": "", "type": "internet", "updated_at": stamp(i, services),
        }  # fmt: skip
    for i in range(1, invoices + 1):
        unpaid = i % 10 == 0
        fake.records["invoice"][i] = {
            "id": str(i), "customer_id": str(i % customers + 1), "number": f"INV-{i:07d}",
            "date_created": day, "date_updated": stamp(i, invoices), "date_till": fake.day(5 if unpaid else 10),
            "date_payment": "0000-00-00" if unpaid else day, "status": "not_paid" if unpaid else "paid",
            "type": "recurring", "total": "29.00", "due": "29.00" if unpaid else "0.00", "is_sent": "1",
            "note": "", "memo": "",
            "items": [{"description": "Fiber 300/300", "quantity": "1", "unit": "", "price": "29.00",
                       "tax": "0.00", "period_from": day, "period_to": day}],
        }  # fmt: skip


def serve_fake(port: int, customers: int, services: int, invoices: int) -> None:
    import uvicorn

    from tests.fakes.splynx import FakeSplynx

    fake = FakeSplynx(KEY, API_SECRET, clock=time.time)
    seed(fake, customers, services, invoices)
    api = fake.app()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        # One control route beside the fake's API: change n records as Splynx would.
        if scope["type"] == "http" and scope["path"] == "/bench/touch":
            body = json.loads((await receive())["body"] or b"{}")
            kind, n = body.get("kind", "invoice"), int(body.get("n", 1000))
            ids = random.Random(1).sample(sorted(fake.records[kind]), n)
            for record_id in ids:
                fake.update(kind, record_id, note="changed")
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": json.dumps({"touched": n}).encode()})
            return
        await api(scope, receive, send)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# The ceiling ---------------------------------------------------------------------------------


async def ceiling(base_url: str) -> dict[str, Any]:
    from adapters.splynx import SplynxClient, filters

    records = 0
    async with SplynxClient(base_url + "/api/2.0/", KEY, API_SECRET, page_size=PAGE) as client:
        started = time.perf_counter()
        for path in PATHS.values():
            after = 0
            while True:
                query = [
                    *filters({"id": (">", after)} if after else {}),
                    ("order[id]", "ASC"),
                    ("limit", str(PAGE)),
                ]
                page = await client.get_json(path, query)
                if not page:
                    break
                records += len(page)
                after = int(page[-1]["id"])
                if len(page) < PAGE:
                    break
        seconds = time.perf_counter() - started
    return {
        "records": records,
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
    }


# The hub -------------------------------------------------------------------------------------


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def wait_run(run_id: int, timeout: float = 1800) -> dict[str, Any]:
    from hub.crm import runs

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = runs.view(await runs.get(run_id))
        if run["status"] in ("succeeded", "failed"):
            return run
        await asyncio.sleep(0.1)
    raise TimeoutError(f"run {run_id} did not finish")


async def card_p95(source_id: int, contacts: int) -> dict[str, Any]:
    from hub.db.engine import connection_pool

    pool = connection_pool()
    ids = [
        r["id"]
        for r in await pool.fetch(
            "WITH c AS (INSERT INTO contact (name, attributes, created_at, updated_at)"
            " SELECT 'Bench ' || g, '{}', now(), now() FROM generate_series(1, $1) g RETURNING id, name)"
            " INSERT INTO contact_identity (contact, kind, address, verified, created_at)"
            " SELECT id, 'email', 'cust' || (id * 7 % 20000 + 1) || '@bench.example', false, now() FROM c"
            " RETURNING contact AS id",
            contacts,
        )
    ]
    await pool.execute("ANALYZE")
    timings = []
    async with pool.acquire() as conn:
        for _ in range(50):  # warm the plans
            await conn.fetchval("SELECT crm_card_json($1)", random.choice(ids))
        for contact in random.Random(2).choices(ids, k=1000):
            started = time.perf_counter()
            card = await conn.fetchval("SELECT crm_card_json($1)", contact)
            timings.append((time.perf_counter() - started) * 1000)
            assert '"customer": {' in card, card[:200]
    timings.sort()
    return {
        "p50_ms": round(percentile(timings, 50), 2),
        "p95_ms": round(percentile(timings, 95), 2),
    }


def start_worker(env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "hub"), "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
    )


async def run_hub(base_url: str, data_dir: Path, contacts: int) -> dict[str, Any]:
    import hub.domains  # noqa: F401  (the job registry, to enqueue crm_sync)
    from hub.crm import jobs, sources
    from hub.system import services
    from hub.system.config import Settings

    dsn = await recreate_database(DATABASE)
    settings = Settings(database_url=dsn, data_dir=data_dir, secret_key=SECRET, log_level="WARNING")
    await services.start(settings, apply_migrations=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HUB_") and k not in ("REDIS_URL", "DATABASE_URL")
    }
    env.update(
        DATABASE_URL=dsn, HUB_SECRET_KEY=SECRET, HUB_DATA_DIR=str(data_dir), HUB_LOG_LEVEL="warning"
    )
    log = (data_dir / "worker.log").open("w")
    worker = start_worker(env, log)
    try:
        row, _ = await sources.create_source(
            "splynx",
            "Bench Splynx",
            {
                "base_url": base_url,
                "api_key": KEY,
                "api_secret": API_SECRET,
                "hook_secret": "x",
                "page_size": PAGE,
            },
            secret_key=SECRET,
            phone_region="DK",
        )
        source_id = int(row["id"])
        started = time.perf_counter()
        run = await jobs.start_sync(source_id, full=True, trigger="api")
        full = await wait_run(int(run["id"]))
        seconds = time.perf_counter() - started
        records = sum(c["fetched"] for c in full["counts"].values())
        result: dict[str, Any] = {
            "full": {
                "status": full["status"],
                "error": full["error"],
                "records": records,
                "seconds": round(seconds, 2),
                "records_per_s": round(records / seconds),
                "counts": full["counts"],
            },
            "worker_peak_rss_mb": peak_rss_mb(worker.pid),
        }
        await asyncio.to_thread(
            httpx.post, base_url + "/bench/touch", json={"kind": "invoice", "n": 1000}, timeout=60
        )
        started = time.perf_counter()
        run = await jobs.start_sync(source_id, full=False, trigger="api")
        incremental = await wait_run(int(run["id"]))
        result["incremental_1000"] = {
            "status": incremental["status"],
            "seconds": round(time.perf_counter() - started, 2),
            "counts": {e: c["fetched"] for e, c in incremental["counts"].items()},
            "invoices_changed": incremental["counts"]["invoice"]["changed"],
        }
        result["worker_peak_rss_mb"] = peak_rss_mb(worker.pid)
        result["card"] = await card_p95(source_id, contacts)
        return result
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()
        await services.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--services", type=int, default=30_000)
    parser.add_argument("--invoices", type=int, default=200_000)
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--serve-fake", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        serve_fake(args.serve_fake, args.customers, args.services, args.invoices)
        return
    port = free_port()
    fake = subprocess.Popen(
        [sys.executable, __file__, "--serve-fake", str(port), "--customers", str(args.customers),
         "--services", str(args.services), "--invoices", str(args.invoices)],
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.post(base_url + "/api/2.0/admin/auth/tokens", json={}).status_code == 400:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or fake.poll() is not None:
                raise RuntimeError("the fake did not start")
            time.sleep(0.5)
        result: dict[str, Any] = {"records_seeded": args.customers + args.services + args.invoices}
        result["ceiling_parse_only"] = asyncio.run(ceiling(base_url))
        with tempfile.TemporaryDirectory(prefix="hub-bench-crm-") as data:
            result.update(asyncio.run(run_hub(base_url, Path(data), args.contacts)))
        result["hub_vs_ceiling"] = round(
            result["ceiling_parse_only"]["records_per_s"] / result["full"]["records_per_s"], 2
        )
        print(json.dumps(result, indent=2, default=str))
    finally:
        fake.terminate()
        fake.wait(30)


if __name__ == "__main__":
    main()
