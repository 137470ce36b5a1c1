"""Slack through its contract fake: one thread per conversation (a second event replies with
the first post's ts), team routing, @channel on breach, 429 with Retry-After honoured, errors
retried or given up, the webhook mode, and the admin API."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from hub.notifications import slack
from hub.system import clock
from tests.conftest import admin_key, inbound, make_api_inbox, serving, unique
from tests.fakes.slack import FakeSlack
from tests.notifications.helpers import settled, team


@pytest.fixture
async def fake_slack() -> AsyncIterator[tuple[FakeSlack, str]]:
    fake = FakeSlack()
    async with serving(fake.app()) as url:
        yield fake, url


async def _configure(
    client: httpx.AsyncClient, admin: dict[str, str], **settings: object
) -> httpx.Response:
    return await client.put("/api/v1/integrations/slack", json=settings, headers=admin)


async def _settle_slack(database: str) -> dict[str, int]:
    """Every event read by the subscriber, then one delivery run now (no waiting for cron)."""
    await settled(database, "slack")
    return await slack.deliver()


async def test_one_thread_per_conversation_routed_by_team(
    quiet_client: httpx.AsyncClient, clean_db: str, fake_slack: tuple[FakeSlack, str]
) -> None:
    client = quiet_client
    fake, url = fake_slack
    admin = await admin_key(client)
    billing = await team(clean_db, unique("billing"))
    response = await _configure(
        client,
        admin,
        bot_token=fake.token,
        api_base_url=f"{url}/api",
        default_channel="C-SUPPORT",
        routes=[{"team_id": billing, "channel": "C-BILLING"}],
        kinds=["conversation_created", "message", "assigned"],
    )
    assert response.status_code == 200, response.text
    assert response.json()["has_bot_token"] is True and "bot_token" not in response.json()
    inbox = await make_api_inbox(client, admin)
    # Drive the subscriber and delivery ourselves (quiet_client runs no worker).
    from hub.realtime.subscribers import deliver

    async def customer(text: str) -> int:
        sent = await inbound(
            client, admin, inbox["id"], unique("m"), text=text, sender="+4520111111"
        )
        await deliver("slack")
        await slack.deliver()
        return int(sent.json()["conversation_id"])

    cid = await customer("help")
    await customer("hello?")
    support = [p for p in fake.posts if p["channel"] == "C-SUPPORT"]
    opened, *replies = support
    assert len(replies) == 2 and all(r["thread_ts"] == opened["ts"] for r in replies)
    assert "thread_ts" not in opened and "New conversation" in opened["text"]
    fields = opened["blocks"][1]["fields"]
    assert any("Customer" in f["text"] for f in fields)
    assert opened["blocks"][-1]["elements"][0]["url"].endswith(f"/inbox/conversations/{cid}")
    # Moved to billing: the conversation's posts go to the billing channel, in a thread there.
    await client.patch(f"/api/v1/conversations/{cid}", json={"team_id": billing}, headers=admin)
    await customer("anyone")
    await customer("still there?")
    moved, reply = [p for p in fake.posts if p["channel"] == "C-BILLING"]
    assert "thread_ts" not in moved and reply["thread_ts"] == moved["ts"]
    # A redelivered batch queues nothing twice.
    conn = await asyncpg.connect(clean_db)
    try:
        await conn.execute("UPDATE event_cursor SET last_id = 0 WHERE subscriber = 'slack'")
        await deliver("slack")
        assert await conn.fetchval("SELECT count(*) FROM slack_post") == 5
    finally:
        await conn.close()


async def test_429_retry_after_is_honoured_and_errors_are_retried_or_given_up(
    quiet_client: httpx.AsyncClient, clean_db: str, fake_slack: tuple[FakeSlack, str]
) -> None:
    from hub.realtime.subscribers import deliver

    client = quiet_client
    fake, url = fake_slack
    admin = await admin_key(client)
    await _configure(
        client,
        admin,
        bot_token=fake.token,
        api_base_url=f"{url}/api",
        default_channel="C-SUPPORT",
        kinds=["conversation_created", "message"],
    )
    inbox = await make_api_inbox(client, admin)
    await inbound(client, admin, inbox["id"], unique("m"), text="one", sender="+4520222222")
    await inbound(client, admin, inbox["id"], unique("m"), text="two", sender="+4520222222")
    await deliver("slack")
    fake.fail_next = [(429, "ratelimited", 30)]
    assert (await slack.deliver())["paused"] == 1
    assert fake.posts == [] and fake.attempts == 1
    # Before Retry-After has passed nothing is sent, however often delivery runs.
    clock.advance(dt.timedelta(seconds=20))
    await slack.deliver()
    assert fake.attempts == 1
    clock.advance(dt.timedelta(seconds=11))
    assert (await slack.deliver())["sent"] == 3  # the new conversation and its two messages
    assert [p.get("thread_ts") for p in fake.posts] == [
        None,
        fake.posts[0]["ts"],
        fake.posts[0]["ts"],
    ]

    # A temporary error is retried later; a permanent one is given up and logged.
    await inbound(client, admin, inbox["id"], unique("m"), text="three", sender="+4520222222")
    await deliver("slack")
    fake.fail_next = [(200, "internal_error", 0)]
    assert (await slack.deliver())["retry"] == 1
    clock.advance(dt.timedelta(seconds=3))
    assert (await slack.deliver())["sent"] == 1
    fake.channels.clear()  # the channel was archived: channel_not_found
    await inbound(client, admin, inbox["id"], unique("m"), text="four", sender="+4520222222")
    await deliver("slack")
    assert (await slack.deliver())["failed"] == 1
    conn = await asyncpg.connect(clean_db)
    try:
        error = await conn.fetchval("SELECT error FROM slack_post WHERE status = 'failed'")
    finally:
        await conn.close()
    assert "channel_not_found" in error


async def test_breach_mentions_the_channel_and_the_webhook_mode_works(
    quiet_client: httpx.AsyncClient, clean_db: str, fake_slack: tuple[FakeSlack, str]
) -> None:
    from hub.realtime import events
    from hub.realtime.subscribers import deliver

    client = quiet_client
    fake, url = fake_slack
    admin = await admin_key(client)
    await _configure(
        client,
        admin,
        webhook_url=f"{url}/services/T000/B000/XXXX",
        kinds=["sla_breached", "sla_warning"],
    )
    inbox = await make_api_inbox(client, admin)
    first = await inbound(client, admin, inbox["id"], unique("m"), text="one", sender="+4520333333")
    cid = first.json()["conversation_id"]
    pool = await asyncpg.connect(clean_db)
    try:
        async with pool.transaction():
            await events.emit(
                pool,
                [
                    {
                        "type": kind,
                        "conversation": cid,
                        "inbox": inbox["id"],
                        "data": {"conversation_id": cid, "target": "first_response"},
                    }
                    for kind in ("sla.warning", "sla.breached")
                ],
            )
    finally:
        await pool.close()
    await deliver("slack")
    assert (await slack.deliver())["sent"] == 2
    warning, breach = fake.webhook_posts
    assert not warning["text"].startswith("<!channel>")
    assert breach["text"].startswith("<!channel>") and "SLA breached" in breach["text"]
    assert "thread_ts" not in breach  # a webhook answers no ts: no threads


async def test_the_slack_settings_are_for_admins(client: httpx.AsyncClient, clean_db: str) -> None:
    from tests.notifications.helpers import agent

    admin = await admin_key(client)
    ann = await agent(client)
    assert (await client.get("/api/v1/integrations/slack", headers=ann.headers)).status_code == 403
    empty = await client.get("/api/v1/integrations/slack", headers=admin)
    assert empty.json()["configured"] is False
    bad = await _configure(client, admin, default_channel="C1")
    assert bad.status_code == 422
    ok = await _configure(client, admin, bot_token="xoxb-1", default_channel="C1")
    assert ok.status_code == 200
    kept = await _configure(client, admin, default_channel="C2")  # the token is kept
    assert kept.json()["has_bot_token"] is True and kept.json()["default_channel"] == "C2"
