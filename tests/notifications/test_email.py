"""Email digests through a real SMTP server (aiosmtpd): an offline agent gets one mail for a
batch of notifications, with links to the conversations; an online one gets none."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from hub.notifications import digest, notify, presence
from hub.system import clock
from hub.system.config import Settings
from tests.conftest import serving, with_smtp
from tests.email.servers import SmtpSink
from tests.notifications.helpers import agent


@pytest.fixture
async def mail_client(
    settings: Settings, sink: tuple[SmtpSink, int], tmp_path: Path
) -> httpx.AsyncClient:
    from web.app import create_app

    configured = with_smtp(
        settings,
        sink[1],
        notify_email_minutes=10,
    )
    app: Litestar = create_app(configured, run_worker=False)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


async def test_offline_agents_get_one_digest_per_batch(
    mail_client: httpx.AsyncClient, sink: tuple[SmtpSink, int]
) -> None:
    received, _ = sink
    ann, bob = await agent(mail_client), await agent(mail_client)
    await presence.touch([bob.id])  # Bob has the inbox open: he sees the bell, needs no mail
    for n in range(3):
        await notify(agent_ids=[ann.id, bob.id], title=f"VIP wrote {n}", body="about the router")
    first = await mail_client.get("/api/v1/notifications", headers=ann.headers)
    await mail_client.post(
        "/api/v1/notifications/read",
        json={"ids": [first.json()["items"][0]["id"]]},
        headers=ann.headers,
    )
    assert await digest.send_due() == {"sent": 0, "skipped": 0, "failed": 0}  # not due yet
    clock.advance(dt.timedelta(minutes=11))
    assert (await digest.send_due())["sent"] == 1
    [mail] = received.received
    message = mail.message
    assert mail.rcpt_tos[0].startswith("agent-")
    assert message["Subject"] == "[Hub] 2 new notifications"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "VIP wrote 0" in text and "VIP wrote 1" in text and "VIP wrote 2" not in text  # read
    assert "/inbox" in text
    # Nothing pending any more: the next run sends nothing; a new one waits its own N minutes.
    assert (await digest.send_due())["sent"] == 0
    clock.reset()  # back to the real time, which stamps new notifications
    await notify(agent_ids=[ann.id], title="later")
    assert (await digest.send_due())["sent"] == 0
    clock.advance(dt.timedelta(minutes=11))
    assert (await digest.send_due())["sent"] == 1
    assert len(received.received) == 2
