"""Report values on a small desk made through the API, against answers computed by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import httpx

from hub.reports import rollup
from hub.reports.buckets import ERROR_BOUND
from tests.conftest import admin_key, api_key_for, inbound, make_api_inbox, unique
from tests.reports.helpers import Stamper

MON = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
TUE = MON + dt.timedelta(days=1)
M = dt.timedelta(minutes=1)
RANGE = {"from": "2026-11-02", "to": "2026-11-03"}


async def _desk(client: httpx.AsyncClient) -> dict[str, Any]:
    """Three conversations (times chosen so every answer below can be worked out on paper):
    1. Mon 09:00 in, 09:10 reply, 11:00 resolved.
    2. Tue 10:00 in, tagged billing, 10:30 reply; stays open.
    3. Tue 12:00 in, 12:05 in, 13:00 reply, 15:00 resolved, 16:00 in again (reopened).
    """
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    stamp = Stamper()
    await stamp.start()

    async def conversation(ref: str, at: dt.datetime) -> int:
        reply = await inbound(
            client, headers, inbox["id"], ref, sender=f"+45{abs(hash(ref)) % 10**8:08d}"
        )
        await stamp(at)
        return int(reply.json()["conversation_id"])

    async def reply(cid: int, at: dt.datetime) -> None:
        r = await client.post(
            f"/api/v1/conversations/{cid}/messages", json={"text": "on it"}, headers=headers
        )
        assert r.status_code == 201, r.text
        await stamp(at)

    async def status(cid: int, value: str, at: dt.datetime) -> None:
        r = await client.patch(
            f"/api/v1/conversations/{cid}", json={"status": value}, headers=headers
        )
        assert r.status_code == 200, r.text
        await stamp(at)

    first = await conversation("c1", MON)
    await reply(first, MON + 10 * M)
    await status(first, "resolved", MON + 120 * M)

    second = await conversation("c2", TUE + 60 * M)
    r = await client.post(
        f"/api/v1/conversations/{second}/tags", json={"tags": ["billing"]}, headers=headers
    )
    assert r.status_code == 200, r.text
    await stamp(TUE + 61 * M)
    await reply(second, TUE + 90 * M)

    third = await conversation("c3", TUE + 180 * M)
    await inbound(client, headers, inbox["id"], "c3b", sender=f"+45{abs(hash('c3')) % 10**8:08d}")
    await stamp(TUE + 185 * M)
    await reply(third, TUE + 240 * M)
    await status(third, "resolved", TUE + 360 * M)
    await inbound(client, headers, inbox["id"], "c3c", sender=f"+45{abs(hash('c3')) % 10**8:08d}")
    await stamp(TUE + 420 * M)
    await rollup.catch_up()
    return {"headers": headers, "inbox": inbox, "ids": (first, second, third)}


def _close(value: float, exact: float) -> bool:
    return abs(value - exact) <= exact * ERROR_BOUND + 1e-9


async def test_metrics_match_the_hand_computed_answers(quiet_client: httpx.AsyncClient) -> None:
    client = quiet_client
    desk = await _desk(client)
    headers = desk["headers"]

    summary = (await client.get("/api/v1/reports/summary", params=RANGE, headers=headers)).json()
    m = summary["metrics"]
    assert (m["created"], m["resolved"], m["reopened"]) == (3, 2, 1)
    assert (m["messages_in"], m["messages_out"]) == (5, 3)
    assert m["backlog"] == 2  # the second and the reopened third
    # First responses 600, 1800, 3600 s: median the middle one, p90 the third (nearest rank).
    assert m["first_response_count"] == 3 and m["first_response_avg"] == 2000.0
    assert _close(m["first_response_median"], 1800) and _close(m["first_response_p90"], 3600)
    # Resolutions 7200 (first) and 3 h after creation (third): 10800.
    assert m["resolution_avg"] == 9000.0 and _close(m["resolution_median"], 7200)
    assert _close(m["resolution_p90"], 10800)
    grid = summary["busiest_hours"]
    assert grid[0][9] == 1 and grid[1][10] == 1 and grid[1][12] == 1 and sum(map(sum, grid)) == 3

    days = (
        await client.get(
            "/api/v1/reports/overview", params={**RANGE, "group_by": "day"}, headers=headers
        )
    ).json()["periods"]
    assert [
        (d["period"], d["created"], d["resolved"], d["reopened"], d["backlog"]) for d in days
    ] == [
        ("2026-11-02", 1, 1, 0, 0),
        ("2026-11-03", 2, 1, 1, 2),
    ]
    series = (
        await client.get(
            "/api/v1/reports/timeseries",
            params={**RANGE, "metric": "messages_in", "group_by": "week"},
            headers=headers,
        )
    ).json()
    assert series["points"] == [{"period": "2026-11-02", "period_end": "2026-11-03", "value": 5}]

    billing = (
        await client.get(
            "/api/v1/reports/summary", params={**RANGE, "tag": "billing"}, headers=headers
        )
    ).json()["metrics"]
    assert (billing["created"], billing["messages_out"], billing["backlog"]) == (1, 1, 1)
    tags = (await client.get("/api/v1/reports/tags", params=RANGE, headers=headers)).json()["rows"]
    assert [(t["name"], t["created"], t["backlog"]) for t in tags] == [("billing", 1, 1)]
    agents = (await client.get("/api/v1/reports/agents", params=RANGE, headers=headers)).json()[
        "rows"
    ]
    assert [(a["name"], a["created"], a["resolved"]) for a in agents] == [("(no agent)", 3, 2)]

    # Nothing on the Sunday before; the backlog then was zero.
    before = (
        await client.get(
            "/api/v1/reports/summary",
            params={"from": "2026-11-01", "to": "2026-11-01"},
            headers=headers,
        )
    ).json()["metrics"]
    assert before["created"] == 0 and before["backlog"] == 0


async def test_csv_forms_and_the_conversation_export(quiet_client: httpx.AsyncClient) -> None:
    client = quiet_client
    desk = await _desk(client)
    headers = desk["headers"]
    summary = await client.get(
        "/api/v1/reports/summary", params={**RANGE, "format": "csv"}, headers=headers
    )
    assert summary.headers["content-type"].startswith("text/csv")
    rows = dict(csv.reader(io.StringIO(summary.text)))
    assert (
        rows["metric"] == "value"
        and rows["created"] == "3"
        and rows["first_response_avg"] == "2000.0"
    )
    for path in ("agents", "teams", "tags", "inboxes", "sla", "overview"):
        r = await client.get(
            f"/api/v1/reports/{path}", params={**RANGE, "format": "csv"}, headers=headers
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), path
        assert len(list(csv.reader(io.StringIO(r.text)))) >= 2, path
    sla = list(
        csv.DictReader(
            io.StringIO(
                (
                    await client.get(
                        "/api/v1/reports/sla", params={**RANGE, "format": "csv"}, headers=headers
                    )
                ).text
            )
        )
    )
    assert {r["target"] for r in sla} == {"first_response", "next_response", "resolution"}

    export = await client.get("/api/v1/reports/conversations", params=RANGE, headers=headers)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(export.text)))
    assert [int(r["id"]) for r in lines] == list(desk["ids"])
    first, second, third = lines
    assert (first["first_response_seconds"], first["resolution_seconds"], first["status"]) == (
        "600",
        "7200",
        "resolved",
    )
    assert (second["tags"], second["resolution_seconds"], second["messages_in"]) == (
        "billing",
        "",
        "1",
    )
    assert (third["messages_in"], third["messages_out"], third["status"]) == ("3", "1", "open")
    assert first["created_at"] == "2026-11-02 09:00:00"
    tagged = await client.get(
        "/api/v1/reports/conversations", params={**RANGE, "tag": "billing"}, headers=headers
    )
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(tagged.text))] == [desk["ids"][1]]


async def test_bad_parameters_name_the_field(quiet_client: httpx.AsyncClient) -> None:
    headers = await admin_key(quiet_client)
    bad = await quiet_client.get(
        "/api/v1/reports/summary", params={"from": "yesterday"}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"]["path"] == "from"
    bad = await quiet_client.get(
        "/api/v1/reports/timeseries", params={"metric": "joy"}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"]["path"] == "metric"
    bad = await quiet_client.get(
        "/api/v1/reports/sla", params={"group_by": "year"}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"]["path"] == "group_by"


async def test_agents_may_not_read_reports_but_get_transcripts(
    quiet_client: httpx.AsyncClient,
) -> None:
    client = quiet_client
    desk = await _desk(client)
    agent = {
        "authorization": f"Bearer {await api_key_for(client, unique('agent') + '@example.com')}"
    }
    for path in (
        "summary",
        "timeseries?metric=created",
        "agents",
        "teams",
        "tags",
        "sla",
        "conversations",
    ):
        r = await client.get(f"/api/v1/reports/{path}", headers=agent)
        assert r.status_code == 403, path
    supervisor = {
        "authorization": f"Bearer {await api_key_for(client, unique('sup') + '@example.com', role='supervisor')}"
    }
    assert (await client.get("/api/v1/reports/summary", headers=supervisor)).status_code == 200

    first = desk["ids"][0]
    text = await client.get(f"/api/v1/conversations/{first}/transcript", headers=desk["headers"])
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    lines = text.text.splitlines()
    assert lines[0].startswith("Conversation #")
    said = [line for line in lines if line.startswith("[")]
    assert said[0].endswith("Customer: hello") and "on it" in said[1]
    page = await client.get(
        f"/api/v1/conversations/{first}/transcript",
        params={"format": "html"},
        headers=desk["headers"],
    )
    assert page.headers["content-type"].startswith("text/html")
    assert '<li class="message in">' in page.text and "on it" in page.text
    assert (
        await client.get("/api/v1/conversations/999999/transcript", headers=desk["headers"])
    ).status_code == 404
