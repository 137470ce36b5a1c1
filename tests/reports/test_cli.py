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
