"""When surveys go: after the delay, once per resolution however many sweeps run, never after a
reopen; answers by the API channel, by a bare digit, replacement within the window."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx

from hub.csat import schedule
from hub.db.engine import connection_pool
from hub.outbox import delivery
from hub.realtime.events import decode_events
from hub.system import clock
from tests.conftest import admin_key, eventually, inbound, make_api_inbox, unique
from tests.csat.conftest import (
    csat_events,
    enable,
    resolve_and_send,
    response_of,
    scheduled,
    set_status,
    surveys,
)


async def _conversation(
    client: httpx.AsyncClient, headers: dict[str, str], inbox_id: int, sender: str
) -> int:
    response = await inbound(client, headers, inbox_id, unique("ext"), sender=sender)
    assert response.status_code == 201, response.text
    return int(response.json()["conversation_id"])


async def _api_inbox(
    client: httpx.AsyncClient, headers: dict[str, str], callback: tuple[Any, str]
) -> dict[str, Any]:
    receiver, url = callback
    inbox = await make_api_inbox(client, headers, callback_url=url)
    receiver.secret = inbox["generated_secrets"]["callback_secret"]
    return inbox


async def test_the_survey_waits_for_the_delay_and_a_reopen_cancels_it(
    client: httpx.AsyncClient, callback_receiver: tuple[Any, str]
) -> None:
    headers = await admin_key(client)
    inbox = await _api_inbox(client, headers, callback_receiver)
    await enable(client, headers, inbox["id"], delay_minutes=120)
    first = await _conversation(client, headers, inbox["id"], "+4520000001")
    second = await _conversation(client, headers, inbox["id"], "+4520000002")

    await set_status(client, headers, first, "resolved")
    await set_status(client, headers, second, "resolved")
    [due] = await scheduled(first)
    await scheduled(second)
    assert due["status"] == "scheduled"
    assert await schedule.sweep() == {"due": 0, "sent": 0}  # not before the delay

    await set_status(client, headers, first, "open")  # reopened before the delay: cancelled
    await eventually(lambda: _status_is(first, "cancelled"))
    clock.advance(dt.timedelta(minutes=121))
    assert await schedule.sweep() == {"due": 1, "sent": 1}
    assert [s["status"] for s in await surveys(first)] == ["cancelled"]
    assert [s["status"] for s in await surveys(second)] == ["sent"]


async def _status_is(conversation_id: int, status: str) -> bool:
    return [s["status"] for s in await surveys(conversation_id)] == [status]


async def test_two_concurrent_sweeps_and_a_redelivered_batch_send_each_survey_once(
    client: httpx.AsyncClient, callback_receiver: tuple[Any, str]
) -> None:
    headers = await admin_key(client)
    inbox = await _api_inbox(client, headers, callback_receiver)
    await enable(client, headers, inbox["id"], delay_minutes=5)
    conversations = [
        await _conversation(client, headers, inbox["id"], f"+452100000{n}") for n in range(6)
    ]
    for conversation in conversations:
        await set_status(client, headers, conversation, "resolved")
    for conversation in conversations:
        await scheduled(conversation)

    # The subscriber's batch again (a crash before its cursor moved): nothing is scheduled twice.
    raw = await connection_pool().fetchval(
        "SELECT jsonb_agg(jsonb_build_object('id', id, 'type', type, 'conversation_id',"
        " conversation, 'inbox_id', inbox, 'data', data, 'created_at', created_at) ORDER BY id)"
        " FROM event WHERE type = 'conversation.updated' AND inbox = $1",
        inbox["id"],
    )
    await schedule.handle(decode_events(raw))

    clock.advance(dt.timedelta(minutes=6))
    results = await asyncio.gather(*(schedule.sweep(limit=2) for _ in range(4)))
    results.append(await schedule.sweep())
    assert sum(r["sent"] for r in results) == 6
    for conversation in conversations:
        [survey] = await surveys(conversation)
        assert survey["status"] == "sent"
        assert [e["type"] for e in await csat_events(conversation)] == ["csat.sent"]
    out = await connection_pool().fetchval(
        "SELECT count(*) FROM message WHERE inbox = $1 AND meta ? 'csat' AND kind = 'message'",
        inbox["id"],
    )
    assert out == 6


async def test_api_channel_gets_the_survey_in_its_callback_and_answers_at_the_endpoint(
    client: httpx.AsyncClient, callback_receiver: tuple[Any, str]
) -> None:
    receiver, _ = callback_receiver
    headers = await admin_key(client)
    inbox = await _api_inbox(client, headers, callback_receiver)
    await enable(client, headers, inbox["id"], window_hours=24)
    conversation = await _conversation(client, headers, inbox["id"], "+4522000001")
    survey = await resolve_and_send(client, headers, conversation)
    assert await delivery.wait_for_status(survey["message"], {"sent", "failed"}) == "sent"
    [payload] = [p for p in receiver.stored.values() if "survey" in p]
    assert payload["survey"]["id"] == survey["id"]
    assert payload["survey"]["ratings"] == [1, 2, 3, 4, 5]
    assert payload["survey"]["answer_url"].endswith(f"/api/v1/inboxes/{inbox['id']}/csat/answers")

    url = f"/api/v1/inboxes/{inbox['id']}/csat/answers"
    bad = await client.post(url, json={"survey_id": survey["id"], "rating": 9}, headers=headers)
    assert bad.status_code == 400
    missing = await client.post(url, json={"survey_id": survey["id"]}, headers=headers)
    assert missing.status_code == 400 and "rating" in missing.text
    first = await client.post(
        url, json={"survey_id": survey["id"], "rating": 3, "comment": "slow"}, headers=headers
    )
    assert first.status_code == 200, first.text
    assert first.json()["replaced"] is False
    again = await client.post(
        url, json={"survey_id": survey["id"], "rating": 3, "comment": "slow"}, headers=headers
    )
    assert again.json()["stored"] is False  # the same answer again: a no-op
    later = await client.post(
        url, json={"survey_id": survey["id"], "rating": 5, "comment": "fixed!"}, headers=headers
    )
    assert later.json()["replaced"] is True
    answer = await response_of(conversation)
    assert answer is not None and (answer["rating"], answer["comment"]) == (5, "fixed!")
    received = [e["data"] for e in await csat_events(conversation) if e["type"] == "csat.received"]
    assert [(r["rating"], r["comment"], r["replaced"]) for r in received] == [
        (3, "slow", False),
        (5, "fixed!", True),
    ]

    other = await make_api_inbox(client, headers)
    wrong = await client.post(
        f"/api/v1/inboxes/{other['id']}/csat/answers",
        json={"survey_id": survey["id"], "rating": 1},
        headers=headers,
    )
    assert wrong.status_code == 404
    clock.advance(dt.timedelta(hours=25))
    late = await client.post(url, json={"survey_id": survey["id"], "rating": 1}, headers=headers)
    assert late.status_code == 410
    answer = await response_of(conversation)
    assert answer is not None and answer["rating"] == 5


async def test_a_bare_digit_right_after_the_survey_is_the_answer(
    client: httpx.AsyncClient, callback_receiver: tuple[Any, str]
) -> None:
    headers = await admin_key(client)
    inbox = await _api_inbox(client, headers, callback_receiver)
    await enable(client, headers, inbox["id"])
    conversation = await _conversation(client, headers, inbox["id"], "+4523000001")
    await resolve_and_send(client, headers, conversation)

    reply = await inbound(client, headers, inbox["id"], "digit-1", text=" 4 ", sender="+4523000001")
    assert reply.status_code == 201, reply.text
    assert reply.json()["kind"] == "event"  # the timeline line, not a customer message
    answer = await response_of(conversation)
    assert answer is not None and answer["rating"] == 4
    shown = (await client.get(f"/api/v1/conversations/{conversation}", headers=headers)).json()
    assert shown["status"] == "resolved"

    # Once the customer wrote something else, a digit is just a message (and reopens).
    await inbound(
        client, headers, inbox["id"], "text-1", text="one more thing", sender="+4523000001"
    )
    await inbound(client, headers, inbox["id"], "digit-2", text="2", sender="+4523000001")
    answer = await response_of(conversation)
    assert answer is not None and answer["rating"] == 4
    texts = (
        await client.get(f"/api/v1/conversations/{conversation}/messages", headers=headers)
    ).json()["items"]
    assert [m["text"] for m in texts if m["direction"] == "in"][-1] == "2"
