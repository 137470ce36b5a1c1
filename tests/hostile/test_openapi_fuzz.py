"""schemathesis against /schema/openapi.json with an admin's API key: 0 server errors, 0
responses that break the documented schema. Bounded and seeded, so the run is the same each time."""

from __future__ import annotations

import asyncio
import os

import httpx

from tests.conftest import admin_key, inbound, make_api_inbox
from tests.hostile import apifuzz

MAX_EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "6"))


async def test_openapi_fuzz_finds_no_server_errors(
    client: httpx.AsyncClient, base_url: str
) -> None:
    headers = await admin_key(client)
    # Something to find: an inbox with a conversation, so ids 1.. exist for the fuzzer's paths.
    inbox = await make_api_inbox(client, headers)
    assert (await inbound(client, headers, inbox["id"], "fuzz-1")).status_code in (200, 201)
    report = await asyncio.to_thread(apifuzz.run, base_url, headers, max_examples=MAX_EXAMPLES)
    assert report.operations > 40 and report.calls > report.operations
    assert report.findings == [], "\n\n".join(
        f"{f.operation}: {f.error}\n{f.curl}" for f in report.findings
    )
