"""Outside business hours, and replies to visitors who left (emailed with a link back)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import ClassVar

import httpx
import pytest
import websockets

from adapters.webchat.hours import Hours, availability
from hub.channels import contract
from hub.channels.contract import BaseAdapter, Outbound
from hub.outbox import delivery
from hub.visitors import presence
from tests.conftest import admin_key
from tests.widget.conftest import (
    SITE,
    agent_says,
    make_webchat_inbox,
    start_session,
    visitor_headers,
    visitor_says,
    widget_ws,
)

WEEKDAYS = {d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}


def test_business_hours() -> None:
    hours = Hours(timezone="Europe/Copenhagen", weekly=WEEKDAYS, holidays=["2026-12-25"])
    utc = dt.UTC
    # Tuesday 2026-11-24 10:00 local (09:00 UTC): open.
    assert availability(hours, dt.datetime(2026, 11, 24, 9, 0, tzinfo=utc)).open
    # Friday 18:00 local: back Monday 09:00 local = 08:00 UTC.
    closed = availability(hours, dt.datetime(2026, 11, 27, 17, 0, tzinfo=utc))
    assert not closed.open
    assert closed.next_open_at == dt.datetime(2026, 11, 30, 8, 0, tzinfo=utc)
    # Christmas Day (a Friday) is a holiday: back Monday the 28th.
    xmas = availability(hours, dt.datetime(2026, 12, 24, 20, 0, tzinfo=utc))
    assert xmas.next_open_at == dt.datetime(2026, 12, 28, 8, 0, tzinfo=utc)
    # Summer time: 09:00 local is 07:00 UTC.
    summer = availability(hours, dt.datetime(2026, 7, 4, 12, 0, tzinfo=utc))
    assert summer.next_open_at == dt.datetime(2026, 7, 6, 7, 0, tzinfo=utc)
    assert availability(None, dt.datetime.now(utc)).open


def test_email_rule() -> None:
    rule = dict(now=1000.0, interval=300.0)
    assert presence.should_email(online_until=0, emailed_at=0, email="a@b.c", **rule)
    assert not presence.should_email(online_until=1090, emailed_at=0, email="a@b.c", **rule)
    assert not presence.should_email(online_until=0, emailed_at=900, email="a@b.c", **rule)
    assert not presence.should_email(online_until=0, emailed_at=0, email="", **rule)


async def test_outside_hours_the_session_says_when_the_team_is_back(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    now = dt.datetime.now(dt.UTC)
    # Open only on a day that is not today, so the chat is closed now whatever the time.
    other_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(now.weekday() + 3) % 7]
    inbox = await make_webchat_inbox(
        client,
        headers,
        hours={"timezone": "UTC", "weekly": {other_day: [["09:00", "17:00"]]}},
        offline_message="We are out fishing.",
    )
    session = await start_session(client, inbox)
    state = session["availability"]
    assert state["open"] is False and state["offline_message"] == "We are out fishing."
    back = dt.datetime.fromisoformat(state["next_open_at"])
    assert back > now and back.weekday() == (now.weekday() + 3) % 7 and back.hour == 9
    assert session["email_known"] is False
    saved = await client.post(
        "/api/v1/widget/profile", json={"email": "Me@Example.org"}, headers=visitor_headers(session)
    )
    assert saved.json() == {"email_known": True}


class FakeMailer(BaseAdapter):
    """Stands in for the email channel's adapter (its SMTP sending is tested with it)."""

    kind: ClassVar[str] = "fake_mailer"
    sent: ClassVar[list[Outbound]] = []

    async def send(self, message: Outbound) -> str:
        FakeMailer.sent.append(message)
        return f"mail-{message.message_id}"


@pytest.fixture
def mailer() -> Iterator[type[FakeMailer]]:
    contract.register("fake_mailer", FakeMailer)
    FakeMailer.sent = []
    yield FakeMailer
    contract._registered.pop("fake_mailer", None)
    contract.adapter_class.cache_clear()


async def test_a_reply_to_a_visitor_who_left_is_emailed_with_a_link_back(
    client: httpx.AsyncClient, base_url: str, mailer: type[FakeMailer]
) -> None:
    headers = await admin_key(client)
    mail_inbox = await client.post(
        "/api/v1/inboxes",
        json={"name": "mail", "channel": "fake_mailer", "config": {}},
        headers=headers,
    )
    assert mail_inbox.status_code == 201, mail_inbox.text
    inbox = await make_webchat_inbox(
        client, headers, email_inbox_id=mail_inbox.json()["id"], allowed_origins=[SITE, base_url]
    )
    away = await start_session(client, inbox, email="gone@example.org", name="Gone")
    await visitor_says(client, away, "call me back")
    page = (await client.get("/api/v1/widget/messages", headers=visitor_headers(away))).json()
    reply = await agent_says(client, headers, page["conversation_id"], "We fixed it")
    assert await delivery.wait_for_status(reply["id"], {"sent", "failed"}) == "sent"
    assert len(mailer.sent) == 1
    mail = mailer.sent[0]
    assert mail.recipient.address == "gone@example.org" and "We fixed it" in mail.text
    link = mail.text.split("Continue the conversation: ", 1)[1].split()[0]
    token = link.split("t=", 1)[1]
    # Quick follow-ups do not send an email each.
    second = await agent_says(client, headers, page["conversation_id"], "Anything else?")
    assert await delivery.wait_for_status(second["id"], {"sent", "failed"}) == "sent"
    assert len(mailer.sent) == 1

    opened = await client.get("/widget/continue", params={"t": token})
    assert opened.status_code == 200 and inbox["inbox_token"] in opened.text
    resumed = await start_session(client, inbox, origin=base_url, resume=token)
    assert resumed["contact_id"] == away["contact_id"]
    expired = await client.get("/widget/continue", params={"t": token[:-3] + "abc"})
    assert expired.status_code == 410

    # A visitor with the chat open gets no email.
    here = await start_session(client, inbox, email="here@example.org")
    await visitor_says(client, here, "still here")
    conversation = (
        await client.get("/api/v1/widget/messages", headers=visitor_headers(here))
    ).json()
    async with websockets.connect(widget_ws(base_url, here)):
        await asyncio.sleep(1.5)  # presence is recorded once a second
        live = await agent_says(client, headers, conversation["conversation_id"], "Live answer")
        assert await delivery.wait_for_status(live["id"], {"sent", "failed"}) == "sent"
    assert [m.recipient.address for m in mailer.sent] == ["gone@example.org"]
