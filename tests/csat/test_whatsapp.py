"""The survey on WhatsApp through the Graph and Twilio fakes: an interactive list or a numbered
prompt inside the 24-hour window, the configured template outside it; the reply is the answer."""

from __future__ import annotations

from typing import Any

import httpx

from hub.outbox import delivery
from hub.system.config import Settings
from tests.conftest import unique
from tests.csat.conftest import enable, resolve_and_send, response_of, surveys
from tests.whatsapp.conftest import cloud_inbox, fake_graph, fake_twilio, twilio_inbox
from tests.whatsapp.fake_graph import FakeGraph
from tests.whatsapp.fake_twilio import FakeTwilio
from tests.whatsapp.helpers import (
    close_window,
    cloud_fixture,
    cloud_text,
    post_cloud,
    post_twilio,
    twilio_fixture,
)

__all__ = ["cloud_inbox", "fake_graph", "fake_twilio", "twilio_inbox"]  # fixtures


async def _only_conversation(client: httpx.AsyncClient, headers: dict[str, str], inbox: int) -> int:
    [item] = (
        await client.get("/api/v1/conversations", params={"inbox_id": inbox}, headers=headers)
    ).json()["items"]
    return int(item["id"])


def _list_reply(row_id: str, sender: str = "15551234567") -> dict[str, Any]:
    payload = cloud_fixture("interactive_list_reply")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"] = f"wamid.{unique('pick')}"
    message["from"] = sender
    message["interactive"] = {
        "type": "list_reply",
        "list_reply": {"id": row_id, "title": row_id[-1] + " - Good"},
    }
    return payload


async def test_cloud_sends_a_list_inside_the_window_and_the_pick_is_the_answer(
    client: httpx.AsyncClient,
    cloud_inbox: tuple[dict[str, str], dict[str, Any]],
    fake_graph: FakeGraph,
) -> None:
    headers, inbox = cloud_inbox
    await enable(client, headers, inbox["id"], question="Rate our help?")
    assert (await post_cloud(client, inbox["id"], cloud_text("no internet"))).status_code == 200
    conversation = await _only_conversation(client, headers, inbox["id"])

    survey = await resolve_and_send(client, headers, conversation)
    assert await delivery.wait_for_status(survey["message"], {"sent", "failed"}) == "sent"
    [sent] = fake_graph.sent
    assert sent["type"] == "interactive"
    assert sent["interactive"]["type"] == "list"
    assert sent["interactive"]["body"]["text"] == "Rate our help?"
    rows = sent["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == [f"csat:{survey['id']}:{n}" for n in range(1, 6)]
    assert all(len(r["title"]) <= 24 for r in rows)  # Meta's limit on a row title

    picked = await post_cloud(client, inbox["id"], _list_reply(f"csat:{survey['id']}:4"))
    assert picked.status_code == 200, picked.text
    answer = await response_of(conversation)
    assert answer is not None and (answer["rating"], answer["via"]) == (4, "whatsapp_cloud")
    shown = (await client.get(f"/api/v1/conversations/{conversation}", headers=headers)).json()
    assert shown["status"] == "resolved"


async def test_cloud_sends_the_template_once_the_window_closed_or_fails_without_one(
    client: httpx.AsyncClient,
    cloud_inbox: tuple[dict[str, str], dict[str, Any]],
    fake_graph: FakeGraph,
) -> None:
    headers, inbox = cloud_inbox
    templates = [
        *inbox["config"]["templates"],
        {"name": "csat_survey", "language": "en_US", "variables": ["link"]},
    ]
    patched = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}", json={"config": {"templates": templates}}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    await enable(client, headers, inbox["id"], template="csat_survey")
    assert (await post_cloud(client, inbox["id"], cloud_text("hello"))).status_code == 200
    conversation = await _only_conversation(client, headers, inbox["id"])
    await close_window(conversation)
    survey = await resolve_and_send(client, headers, conversation)
    assert await delivery.wait_for_status(survey["message"], {"sent", "failed"}) == "sent"
    [sent] = fake_graph.sent
    assert sent["type"] == "template" and sent["template"]["name"] == "csat_survey"
    [parameter] = sent["template"]["components"][0]["parameters"]
    assert parameter["text"].split("/csat/")[1].split(".")[0] == str(survey["id"])

    # Without a template configured the survey is not sent, and says why.
    await enable(client, headers, inbox["id"], template="")
    second = cloud_text("again", sender="15557654321")
    assert (await post_cloud(client, inbox["id"], second)).status_code == 200
    items = (
        await client.get("/api/v1/conversations", params={"inbox_id": inbox["id"]}, headers=headers)
    ).json()["items"]
    other = next(i["id"] for i in items if i["id"] != conversation)
    await close_window(other)
    from tests.csat.conftest import scheduled, set_status

    await set_status(client, headers, other, "resolved")
    await scheduled(other)
    from hub.csat import schedule

    await schedule.sweep()
    [failed] = await surveys(other)
    assert failed["status"] == "failed" and "template" in failed["error"]
    assert len(fake_graph.sent) == 1


async def test_twilio_sends_a_numbered_prompt_and_reads_the_digit(
    client: httpx.AsyncClient,
    settings: Settings,
    twilio_inbox: tuple[dict[str, str], dict[str, Any]],
    fake_twilio: FakeTwilio,
) -> None:
    headers, inbox = twilio_inbox
    await enable(client, headers, inbox["id"], question="How did we do?")
    form = twilio_fixture("inbound_text")
    assert (await post_twilio(client, settings, inbox["id"], form)).status_code == 200
    conversation = await _only_conversation(client, headers, inbox["id"])
    survey = await resolve_and_send(client, headers, conversation)
    assert await delivery.wait_for_status(survey["message"], {"sent", "failed"}) == "sent"
    [sent] = fake_twilio.sent
    body = sent["Body"][0]
    assert body.startswith("How did we do?") and "Reply with a number from 1 to 5" in body

    digit = {**form, "MessageSid": "SM" + "d" * 32, "SmsMessageSid": "", "Body": "5"}
    assert (await post_twilio(client, settings, inbox["id"], digit)).status_code == 200
    answer = await response_of(conversation)
    assert answer is not None and (answer["rating"], answer["via"]) == (5, "whatsapp_twilio")
    # Twilio retries the webhook: the same answer, once.
    assert (await post_twilio(client, settings, inbox["id"], digit)).status_code == 200
    answer = await response_of(conversation)
    assert answer is not None and answer["answers"] == 1
