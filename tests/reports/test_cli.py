"""`hub reports rebuild` as an operator runs it: a real process, the same rows as the job's."""

from __future__ import annotations

import httpx

from hub.reports import rollup
from hub.system.config import Settings
from tests.conftest import admin_key, inbound, make_api_inbox
from tests.crm.test_cli import hub
from tests.reports.helpers import snapshot


async def test_rebuild_from_the_command_line(
    quiet_client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = await admin_key(quiet_client)
    inbox = await make_api_inbox(quiet_client, headers)
    for n in range(4):
        await inbound(quiet_client, headers, inbox["id"], f"cli-{n}", sender=f"+4530000{n:03d}")
    await rollup.catch_up()
    before = await snapshot()
    assert len(before["states"]) == 4
    code, out, err = await hub(settings, "reports", "rebuild")
    assert code == 0, out + err
    events = await rollup.count_events()
    assert f"rebuilt the report rollups from {events} events" in out
    assert "reports" in err  # the progress bar (on stderr)
    assert await snapshot() == before


async def test_the_demo_has_reports_at_once(client: httpx.AsyncClient) -> None:
    """After `hub serve --demo`: the rollup job (through the worker) finds four weeks of data."""
    from hub.demo.seed import DEMO_LOGINS, load_demo
    from tests.conftest import run_job

    assert await load_demo() is True
    result = await run_job("reports_rollup")
    assert result["applied"] > 500  # (the live subscribers may add events meanwhile)
    csrf = (
        await client.post(
            "/api/v1/auth/login",
            json=dict(zip(("email", "password"), DEMO_LOGINS["admin"], strict=True)),
        )
    ).json()["csrf_token"]
    assert csrf
    m = (await client.get("/api/v1/reports/summary")).json()["metrics"]
    assert m["created"] > 150 and m["resolved"] > 100 and m["first_response_median"] is not None
    assert m["sla_first_response_compliance"] is not None and m["csat_score"] is not None
