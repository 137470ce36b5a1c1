"""The email survey through a real SMTP sink, and its signed answer page: forged tokens are
refused, a later answer within the window replaces the earlier one, late or superseded links are
gone."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx

from hub.csat import tokens
from hub.outbox import delivery
from hub.system import clock
from tests.csat.conftest import (
    csat_events,
    enable,
    resolve_and_send,
    response_of,
    scheduled,
    set_status,
    subscriber_caught_up,
    surveys,
)
from tests.email.conftest import smtp_server
from tests.email.servers import SmtpSink
from tests.email.test_smtp import _conversation

__all__ = ["smtp_server"]  # the fixture


async def test_the_mail_carries_signed_links_and_the_page_stores_one_answer(
    client: httpx.AsyncClient, settings: Any, smtp_server: tuple[SmtpSink, int, Any]
) -> None:
    sink = smtp_server[0]
    headers, inbox_id, conversation = await _conversation(client, settings, smtp_server)
    await enable(client, headers, inbox_id, window_hours=48)
    survey = await resolve_and_send(client, headers, conversation)
    assert await delivery.wait_for_status(survey["message"], {"sent", "failed"}) == "sent"
    [received] = await sink.wait(1)
    text = received.message.get_body(("plain",)).get_content()
    html = received.message.get_body(("html",)).get_content()
    links = re.findall(r"(https?://\S+/csat/(\S+?))\?rating=(\d)", text)
    assert [n for _, _, n in links] == ["1", "2", "3", "4", "5"]
    token = links[0][1]
    assert tokens.read(settings.secret_key, token) == survey["id"]
    assert f"/csat/{token}?rating=5" in html

    # Opening a link (a mail scanner does) stores nothing.
    page = await client.get(f"/csat/{token}", params={"rating": "5"})
    assert page.status_code == 200 and 'value="5" required checked' in page.text
    assert await response_of(conversation) is None

    sent = await client.post(f"/csat/{token}", data={"rating": "2", "comment": "took a while"})
    assert sent.status_code == 200 and "You rated us 2/5" in sent.text
    changed = await client.post(f"/csat/{token}", data={"rating": "4", "comment": ""})
    assert changed.status_code == 200
    answer = await response_of(conversation)
    assert answer is not None
    assert (answer["rating"], answer["comment"], answer["via"]) == (4, None, "link")
    assert [e["data"].get("replaced") for e in await csat_events(conversation)] == [
        None,
        False,
        True,
    ]
    bad = await client.post(f"/csat/{token}", data={"rating": "7"})
    assert bad.status_code == 400 and "rating must be" in bad.text

    shown = (await client.get(f"/api/v1/conversations/{conversation}", headers=headers)).json()
    assert shown["csat"]["response"]["rating"] == 4
    assert shown["csat"]["survey"]["status"] == "sent"

    # After the window: gone, and the answer stays as it was.
    clock.advance(dt.timedelta(hours=49))
    assert (await client.get(f"/csat/{token}")).status_code == 410
    assert (await client.post(f"/csat/{token}", data={"rating": "1"})).status_code == 410
    answer = await response_of(conversation)
    assert answer is not None and answer["rating"] == 4


async def test_forged_and_superseded_tokens_are_refused(
    client: httpx.AsyncClient, settings: Any, smtp_server: tuple[SmtpSink, int, Any]
) -> None:
    headers, inbox_id, conversation = await _conversation(client, settings, smtp_server)
    await enable(client, headers, inbox_id)
    survey = await resolve_and_send(client, headers, conversation)
    token = tokens.issue(settings.secret_key, survey["id"])
    number, kid, mac = token.split(".")

    forged = [
        f"{int(number) + 1}.{kid}.{mac}",  # another survey with this survey's MAC
        f"{number}.{kid}.{'0' * 32}",
        f"{number}.00000000.{mac}",  # a key id this instance never had
        tokens.issue("another-instance-secret-" + "y" * 30, survey["id"]),
        "garbage",
    ]
    for bad in forged:
        assert (await client.get(f"/csat/{bad}")).status_code == 403, bad
        assert (await client.post(f"/csat/{bad}", data={"rating": "5"})).status_code == 403, bad
    assert await response_of(conversation) is None

    # Reopened and resolved again: the old link is superseded by the new survey's.
    assert (await client.post(f"/csat/{token}", data={"rating": "3"})).status_code == 200
    await set_status(client, headers, conversation, "open")
    await set_status(client, headers, conversation, "resolved")
    # One answer per conversation: an answered conversation is not surveyed again.
    await subscriber_caught_up()
    assert len(await surveys(conversation)) == 1
    await forget_answer(conversation)
    await set_status(client, headers, conversation, "open")
    await set_status(client, headers, conversation, "resolved")
    rows = await scheduled(conversation, 2)
    clock.advance(rows[-1]["due_at"] - clock.now() + dt.timedelta(seconds=1))
    from hub.csat import schedule

    await schedule.sweep()
    assert (await client.post(f"/csat/{token}", data={"rating": "1"})).status_code == 410
    newer = tokens.issue(settings.secret_key, rows[-1]["id"])
    assert (await client.post(f"/csat/{newer}", data={"rating": "5"})).status_code == 200


async def forget_answer(conversation: int) -> None:
    """Forget the answer, as if none had come (to get a second survey for the conversation)."""
    from hub.db.engine import connection_pool

    await connection_pool().execute(
        "DELETE FROM csat_response WHERE conversation = $1", conversation
    )
