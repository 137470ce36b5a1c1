"""Issue 19: the audit log: append-only, entries for logins and changes with the client's
address, filters and paging, the streamed CSV export, and its page."""

from __future__ import annotations

import csv
import datetime as dt
import io

import asyncpg
import httpx
import pytest

from hub.auth import audit, audit_log
from hub.auth.audit_log import AuditFilters
from hub.db.engine import connection_pool
from hub.system.config import Settings
from tests.access.helpers import agent_with, make_role
from tests.conftest import admin_key, login, make_agent, serving, with_settings
from web.app import create_app


async def test_the_audit_log_refuses_updates_deletes_and_truncate(
    client: httpx.AsyncClient,
) -> None:
    await audit.record("test.entry", actor_id=None, actor_type="system", data={"n": 1})
    pool = connection_pool()
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute("UPDATE audit_log SET action = 'forged'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute("DELETE FROM audit_log")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute("TRUNCATE audit_log")
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'test.entry'") == 1
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'forged'") == 0


async def test_logins_failures_and_changes_are_recorded_from_the_client_address(
    settings: Settings,
) -> None:
    await make_agent("ann@example.com", role="admin")
    app = create_app(with_settings(settings, trusted_proxies=("127.0.0.1",)), run_worker=False)
    behind_proxy = {"x-forwarded-for": "198.51.100.7"}
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        wrong = await http.post(
            "/api/v1/auth/login",
            json={"email": "Ann@Example.com", "password": "not it at all"},
            headers=behind_proxy,
        )
        assert wrong.status_code == 401
        csrf = await login(http, "ann@example.com")
        created = await http.post(
            "/api/v1/roles",
            json={"key": "billing", "name": "Billing specialist", "permissions": ["crm.card"]},
            headers={"x-csrf-token": csrf, **behind_proxy},
        )
        assert created.status_code == 201
        rows = await connection_pool().fetch(
            "SELECT action, actor_type, actor_id, ip, data FROM audit_log ORDER BY id"
        )
    entries = {r["action"]: r for r in rows}
    failed = entries["login.failed"]
    assert failed["actor_type"] == "anonymous" and failed["ip"] == "198.51.100.7"
    assert '"email": "ann@example.com"' in failed["data"]
    assert entries["login"]["actor_id"] is not None and entries["login"]["ip"]
    assert entries["role.create"]["ip"] == "198.51.100.7"


async def test_filters_paging_and_the_csv_export(client: httpx.AsyncClient) -> None:
    admin = await admin_key(client)
    reader_role = await make_role(client, admin, ["audit.view"])
    reader_id, reader = await agent_with(reader_role)
    for n in range(7):
        await audit.record("test.paged", actor_id=reader_id, data={"n": n, "cell": "=HYPERLINK(1)"})
    await audit.record("test.other", actor_id=None, actor_type="system")
    page = await client.get(
        "/api/v1/audit-log", params={"action": "test.paged", "limit": 3}, headers=reader
    )
    assert page.status_code == 200, page.text
    first = page.json()
    assert [e["data"]["n"] for e in first["items"]] == [6, 5, 4]
    assert first["items"][0]["actor_email"].endswith("@example.com")
    rest = await client.get(
        "/api/v1/audit-log",
        params={"action": "test.paged", "limit": 10, "before": first["next_before"]},
        headers=reader,
    )
    assert [e["data"]["n"] for e in rest.json()["items"]] == [3, 2, 1, 0]
    assert rest.json()["next_before"] is None
    by_prefix = await client.get("/api/v1/audit-log", params={"action": "test."}, headers=reader)
    assert {e["action"] for e in by_prefix.json()["items"]} == {"test.paged", "test.other"}
    by_actor = await client.get(
        "/api/v1/audit-log", params={"actor_id": reader_id, "action": "test."}, headers=reader
    )
    assert len(by_actor.json()["items"]) == 7
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    future = await client.get("/api/v1/audit-log", params={"since": tomorrow}, headers=reader)
    assert future.json()["items"] == []
    bad = await client.get("/api/v1/audit-log", params={"since": "yesterday"}, headers=reader)
    assert bad.status_code == 400 and "since" in bad.text

    exported = await client.get(
        "/api/v1/audit-log", params={"action": "test.paged", "format": "csv"}, headers=reader
    )
    assert exported.status_code == 200, exported.text[:300]
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(r["id"]) for r in table] == sorted((int(r["id"]) for r in table), reverse=True)
    assert len(table) == 7 and table[0]["action"] == "test.paged"
    assert all(r["data"].startswith("{") for r in table)  # JSON, not a formula
    export = await connection_pool().fetchrow(
        "SELECT actor_id, data FROM audit_log WHERE action = 'audit.export'"
    )
    assert export["actor_id"] == reader_id and "test.paged" in export["data"]


async def test_the_export_streams_in_chunks(client: httpx.AsyncClient) -> None:
    await connection_pool().executemany(
        "INSERT INTO audit_log (actor_type, action, data, ip, target_type)"
        " VALUES ('system', 'test.bulk', $1, '', '')",
        [(f'{{"n": {n}}}',) for n in range(audit_log.EXPORT_CHUNK * 2 + 5)],
    )
    chunks = [c async for c in audit_log.export_csv(AuditFilters(action="test.bulk"))]
    assert len(chunks) == 3  # a chunk per page of rows: never the whole log in memory
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    assert len(rows) == 1 + audit_log.EXPORT_CHUNK * 2 + 5
    assert len({r[0] for r in rows[1:]}) == len(rows) - 1  # no row twice across chunks


async def test_the_audit_page_filters_and_links_the_export(client: httpx.AsyncClient) -> None:
    await make_agent("root@example.com", role="admin")
    await login(client, "root@example.com")
    await audit.record("test.page", actor_id=None, actor_type="system", data={"k": "<b>x</b>"})
    page = await client.get("/admin/audit", params={"action": "test.page"})
    assert page.status_code == 200
    assert "test.page" in page.text and "<b>x</b>" not in page.text  # escaped
    assert "/api/v1/audit-log?action=test.page&amp;format=csv" in page.text
    today = dt.date.today().isoformat()
    dated = await client.get("/admin/audit", params={"since": today, "until": today})
    assert dated.status_code == 200 and "<code>login</code>" in dated.text
    agent_page = await client.get("/admin/roles")
    assert agent_page.status_code == 200 and "Conversations" in agent_page.text


def test_csv_cells_never_start_a_formula() -> None:
    assert [audit_log._cell(v) for v in ("=SUM(A1)", "+1", "-1", "@x", "plain", None)] == [
        "'=SUM(A1)", "'+1", "'-1", "'@x", "plain", "",
    ]  # fmt: skip
