"""The survey on Telegram through the fake Bot API: inline buttons out, a callback_query back."""

from __future__ import annotations

import json
from typing import Any

import httpx

from hub.outbox import delivery
from tests.conftest import admin_key
from tests.csat.conftest import csat_events, enable, resolve_and_send, response_of
from tests.telegram.conftest import bot_api, fixture, make_inbox
from tests.telegram.fake_bot_api import FakeBotApi

__all__ = ["bot_api"]  # the fixture


def press(update_id: int, query_id: str, message_id: int, data: str) -> dict[str, Any]:
    update = fixture("callback_query")
    update["update_id"] = update_id
    update["callback_query"]["id"] = query_id
    update["callback_query"]["data"] = data
    update["callback_query"]["message"]["message_id"] = message_id
    update["callback_query"]["message"]["reply_markup"] = None
    return update


async def test_buttons_out_and_a_press_is_the_answer(
    client: httpx.AsyncClient, base_url: str, bot_api: FakeBotApi
) -> None:
    headers = await admin_key(client)
    inbox = await make_inbox(client, headers, bot_api)
    await enable(client, headers, inbox["id"], delay_minutes=30, question="How did we do?")
    assert (await bot_api.push(fixture("private_text"), to=base_url)).status_code == 200
    [conversation] = (
        await client.get("/api/v1/conversations", params={"inbox_id": inbox["id"]}, headers=headers)
    ).json()["items"]

    survey = await resolve_and_send(client, headers, conversation["id"])
    assert await delivery.wait_for_status(survey["message"], {"sent", "failed"}) == "sent"
    [call] = bot_api.calls_to("sendMessage")
    assert call.params["text"] == "How did we do?"
    keyboard = json.loads(call.params["reply_markup"])["inline_keyboard"]
    assert [b["text"] for b in keyboard[0]] == ["1", "2", "3", "4", "5"]
    assert keyboard[0][3]["callback_data"] == f"csat:{survey['id']}:4"
    sent_id = bot_api.sent[-1]["message"]["message_id"]

    pushed = await bot_api.push(press(900, "q1", sent_id, f"csat:{survey['id']}:4"), to=base_url)
    assert pushed.status_code == 200, pushed.text
    answer = await response_of(conversation["id"])
    assert answer is not None and (answer["rating"], answer["via"]) == (4, "telegram")
    [ack] = bot_api.calls_to("answerCallbackQuery")
    assert ack.params["text"] == "Thank you for your feedback!"

    # Telegram retries the same update: nothing changes. A second press replaces the answer.
    assert (
        await bot_api.push(press(900, "q1", sent_id, f"csat:{survey['id']}:4"), to=base_url)
    ).status_code == 200
    await bot_api.push(press(901, "q2", sent_id, f"csat:{survey['id']}:2"), to=base_url)
    answer = await response_of(conversation["id"])
    assert answer is not None and (answer["rating"], answer["answers"]) == (2, 2)
    assert [e["type"] for e in await csat_events(conversation["id"])] == [
        "csat.sent",
        "csat.received",
        "csat.received",
    ]
    received = (await csat_events(conversation["id"]))[-1]["data"]
    assert received["rating"] == 2 and received["replaced"] is True and received["comment"] is None

    # The press neither reopened the conversation nor became a customer message.
    shown = (
        await client.get(f"/api/v1/conversations/{conversation['id']}", headers=headers)
    ).json()
    assert shown["status"] == "resolved"
    assert shown["csat"]["response"]["rating"] == 2
    messages = (
        await client.get(f"/api/v1/conversations/{conversation['id']}/messages", headers=headers)
    ).json()["items"]
    assert [m["direction"] for m in messages if m["kind"] == "message"] == ["in", "out"]


async def test_a_press_on_another_surveys_button_from_someone_else_is_a_normal_message(
    client: httpx.AsyncClient, base_url: str, bot_api: FakeBotApi
) -> None:
    headers = await admin_key(client)
    inbox = await make_inbox(client, headers, bot_api)
    await enable(client, headers, inbox["id"])
    assert (await bot_api.push(fixture("private_text"), to=base_url)).status_code == 200
    [conversation] = (
        await client.get("/api/v1/conversations", params={"inbox_id": inbox["id"]}, headers=headers)
    ).json()["items"]
    survey = await resolve_and_send(client, headers, conversation["id"])
    stranger = press(902, "q3", 1, f"csat:{survey['id']}:1")
    stranger["callback_query"]["from"]["id"] = 5550001
    stranger["callback_query"]["message"]["chat"]["id"] = 5550001
    assert (await bot_api.push(stranger, to=base_url)).status_code == 200
    assert await response_of(conversation["id"]) is None
