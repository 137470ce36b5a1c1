"""One test per update kind: a real-shaped fixture POSTed to the real webhook endpoint."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from hub.db.tables import ContactIdentity, Event, Message
from tests.conftest import admin_key
from tests.telegram.conftest import content_for, file_ids, fixture, make_inbox, post_update
from tests.telegram.fake_bot_api import FakeBotApi


class Delivered(msgspec.Struct):
    inbox: dict[str, Any]
    headers: dict[str, str]
    secret: str


async def _inbox(client: httpx.AsyncClient, bot_api: FakeBotApi, **config: Any) -> Delivered:
    headers = await admin_key(client)
    inbox = await make_inbox(client, headers, bot_api, **config)
    return Delivered(inbox, headers, str(bot_api.webhook["secret_token"]))


async def _deliver(
    client: httpx.AsyncClient, bot_api: FakeBotApi, name: str, **config: Any
) -> Delivered:
    """Create a webhook inbox, let the fake serve the fixture's files, and POST the update."""
    target = await _inbox(client, bot_api, **config)
    update = fixture(name)
    for file_id in file_ids(update):
        bot_api.add_file(file_id, content_for(file_id), path=f"files/{file_id[-12:]}")
    response = await post_update(client, target.inbox["id"], update, target.secret)
    assert response.status_code == 200, response.text
    return target


async def _messages(client: httpx.AsyncClient, target: Delivered) -> list[dict[str, Any]]:
    conversations = (
        await client.get(
            "/api/v1/conversations",
            params={"inbox_id": target.inbox["id"]},
            headers=target.headers,
        )
    ).json()["items"]
    found: list[dict[str, Any]] = []
    for conversation in conversations:
        found += (
            await client.get(
                f"/api/v1/conversations/{conversation['id']}/messages", headers=target.headers
            )
        ).json()["items"]
    return found


async def _only(client: httpx.AsyncClient, target: Delivered) -> dict[str, Any]:
    messages = await _messages(client, target)
    assert len(messages) == 1, messages
    assert messages[0]["direction"] == "in" and messages[0]["status"] == "received"
    return messages[0]


async def _meta(message_id: int) -> dict[str, Any]:
    row = await Message.select(Message.meta).where(Message.id == message_id).first()
    assert row is not None
    meta = row["meta"]
    return dict(msgspec.json.decode(meta) if isinstance(meta, str) else meta)


async def test_private_text_creates_the_contact_with_the_telegram_identity(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _deliver(client, bot_api, "private_text")
    message = await _only(client, target)
    assert message["text"] == "Hi, my internet has been down since this morning"
    assert message["author"]["name"] == "Ana Silva"
    identity = await ContactIdentity.select().first()
    assert identity is not None
    assert (identity["kind"], identity["address"]) == ("telegram", "424242424")
    row = (
        await Message.select(Message.provider_message_id).where(Message.id == message["id"]).first()
    )
    assert row is not None and row["provider_message_id"] == "424242424:101"
    meta = await _meta(message["id"])
    assert meta["username"] == "ana_silva" and meta["update_id"] == 731000101
    conversation = (
        await client.get(
            f"/api/v1/conversations/{message['conversation_id']}", headers=target.headers
        )
    ).json()
    assert conversation["channel"] == "telegram" and conversation["contact"]["name"] == "Ana Silva"


async def test_photo_downloads_the_largest_size(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _deliver(client, bot_api, "photo")
    message = await _only(client, target)
    largest = fixture("photo")["message"]["photo"][-1]
    assert message["text"] == ""
    [attachment] = message["attachments"]
    assert attachment["filename"] == f"photo_{largest['file_unique_id']}.jpg"
    assert attachment["content_type"] == "image/jpeg"
    assert attachment["size"] == len(content_for(largest["file_id"]))
    assert [c.params["file_id"] for c in bot_api.calls_to("getFile")] == [largest["file_id"]]
    download = await client.get(attachment["url"], headers=target.headers)
    assert download.status_code == 200 and download.content == content_for(largest["file_id"])


async def test_caption_becomes_the_text(client: httpx.AsyncClient, bot_api: FakeBotApi) -> None:
    target = await _deliver(client, bot_api, "caption")
    message = await _only(client, target)
    assert message["text"] == "The router lights look like this"
    assert len(message["attachments"]) == 1


async def test_document_keeps_its_name_and_type(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _deliver(client, bot_api, "document")
    message = await _only(client, target)
    assert message["text"] == "Why was I billed twice?"
    [attachment] = message["attachments"]
    assert (attachment["filename"], attachment["content_type"]) == (
        "invoice-2024-11.pdf",
        "application/pdf",
    )


async def test_voice_message(client: httpx.AsyncClient, bot_api: FakeBotApi) -> None:
    target = await _deliver(client, bot_api, "voice")
    [attachment] = (await _only(client, target))["attachments"]
    assert attachment["filename"] == "voice_AgADyxgAArXHQVI.ogg"
    assert attachment["content_type"] == "audio/ogg"


async def test_audio(client: httpx.AsyncClient, bot_api: FakeBotApi) -> None:
    target = await _deliver(client, bot_api, "audio")
    message = await _only(client, target)
    [attachment] = message["attachments"]
    assert (attachment["filename"], attachment["content_type"]) == ("modem-noise.mp3", "audio/mpeg")
    assert (await _meta(message["id"]))["audio_title"] == "Ana - Modem noise"


async def test_video_with_caption(client: httpx.AsyncClient, bot_api: FakeBotApi) -> None:
    target = await _deliver(client, bot_api, "video")
    message = await _only(client, target)
    assert message["text"] == "It blinks red every few seconds"
    [attachment] = message["attachments"]
    assert (attachment["filename"], attachment["content_type"]) == ("router.mp4", "video/mp4")
    # The video itself, not its thumbnail.
    video = fixture("video")["message"]["video"]
    assert [c.params["file_id"] for c in bot_api.calls_to("getFile")] == [video["file_id"]]


async def test_sticker_is_kept_as_an_image(client: httpx.AsyncClient, bot_api: FakeBotApi) -> None:
    target = await _deliver(client, bot_api, "sticker")
    message = await _only(client, target)
    assert message["text"] == "Sticker \U0001f44d"
    [attachment] = message["attachments"]
    assert attachment["content_type"] == "image/webp"
    sticker = fixture("sticker")["message"]["sticker"]
    assert [c.params["file_id"] for c in bot_api.calls_to("getFile")] == [sticker["file_id"]]


async def test_animated_sticker_is_kept_as_its_still_image(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _deliver(client, bot_api, "sticker_animated")
    message = await _only(client, target)
    [attachment] = message["attachments"]
    assert attachment["content_type"] == "image/webp" and attachment["filename"].endswith(".webp")
    thumbnail = fixture("sticker_animated")["message"]["sticker"]["thumbnail"]
    assert [c.params["file_id"] for c in bot_api.calls_to("getFile")] == [thumbnail["file_id"]]


async def test_location_becomes_text_with_a_map_link(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _deliver(client, bot_api, "location")
    message = await _only(client, target)
    assert message["text"].startswith("Location: 55.676098, 12.568337\n")
    assert "openstreetmap.org/?mlat=55.676098&mlon=12.568337" in message["text"]
    assert (await _meta(message["id"]))["location"] == {
        "latitude": 55.676098,
        "longitude": 12.568337,
    }


async def test_shared_contact_becomes_text(client: httpx.AsyncClient, bot_api: FakeBotApi) -> None:
    target = await _deliver(client, bot_api, "contact")
    message = await _only(client, target)
    assert message["text"] == "Shared contact: Bo Jensen, +4520123456"
    # The sender is still Ana; the shared card is data, not an identity.
    assert message["author"]["name"] == "Ana Silva"
    assert (await _meta(message["id"]))["shared_contact"]["user_id"] == 515151515


async def test_reply_carries_the_thread_hint(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _deliver(client, bot_api, "reply")
    message = await _only(client, target)
    assert message["text"] == "Yes, the one ending in 4471"
    meta = await _meta(message["id"])
    assert meta["thread"] == {"reply_to_provider_id": "424242424:9001"}


async def test_edited_message_updates_the_original_and_keeps_the_edit(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _deliver(client, bot_api, "private_text")
    response = await post_update(
        client, target.inbox["id"], fixture("edited_message"), target.secret
    )
    assert response.status_code == 200
    [message] = await _messages(client, target)
    assert message["text"] == "Hi, my internet has been down since yesterday evening"
    meta = await _meta(message["id"])
    assert meta["edits"][0]["previous_text"] == "Hi, my internet has been down since this morning"
    assert meta["edits"][0]["id"].startswith("424242424:101:edit:")
    # The same edit delivered again changes nothing and adds nothing.
    await post_update(client, target.inbox["id"], fixture("edited_message"), target.secret)
    assert len(await _messages(client, target)) == 1
    assert len((await _meta(message["id"]))["edits"]) == 1
    updates = await Event.select(Event.data).where(Event.type == "message.updated")
    assert len(updates) == 1
    data = updates[0]["data"]
    data = msgspec.json.decode(data) if isinstance(data, str) else data
    assert data["id"] == message["id"] and data["text"] == message["text"]


async def test_callback_query_is_answered_and_recorded(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _deliver(client, bot_api, "callback_query")
    message = await _only(client, target)
    assert message["text"] == "Pressed button: Yes, please (visit:yes)"
    [answer] = bot_api.calls_to("answerCallbackQuery")
    assert answer.params["callback_query_id"] == "1822047311829183021"
    assert (await _meta(message["id"]))["callback_data"] == "visit:yes"


async def test_group_message_is_ignored_by_default(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _deliver(client, bot_api, "group_message")
    assert await _messages(client, target) == []
    assert await Message.count() == 0


async def test_group_message_is_recorded_when_groups_are_allowed(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _deliver(client, bot_api, "group_message", allow_groups=True)
    message = await _only(client, target)
    assert message["text"].startswith("@hub_test_bot is the outage")
    meta = await _meta(message["id"])
    assert meta["chat_type"] == "supergroup"
    assert meta["chat_title"] == "Vesterbro building 12 residents"


# Security and idempotency ---------------------------------------------------------------------


async def test_missing_or_wrong_secret_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _inbox(client, bot_api)
    update = fixture("private_text")
    for secret in (None, "", "wrong-secret", target.secret[:-1]):
        response = await post_update(client, target.inbox["id"], update, secret)
        assert response.status_code == 403, (secret, response.text)
    assert await Message.count() == 0
    assert await ContactIdentity.count() == 0


async def test_duplicate_update_stores_one_message(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _deliver(client, bot_api, "photo")
    again = await post_update(client, target.inbox["id"], fixture("photo"), target.secret)
    assert again.status_code == 200
    assert await Message.count() == 1
    assert len((await _only(client, target))["attachments"]) == 1


async def test_unparseable_update_is_kept_and_answered_400(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _inbox(client, bot_api)
    response = await post_update(
        client, target.inbox["id"], {"update_id": "not a number"}, target.secret
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["raw_payload_id"] > 0
    assert await Message.count() == 0


async def test_file_over_the_download_limit_is_noted_not_fetched(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _inbox(client, bot_api)
    update = fixture("document")
    document = update["message"]["document"]
    document["file_size"] = 25 * 1024 * 1024  # over Telegram's 20 MB for bots
    response = await post_update(client, target.inbox["id"], update, target.secret)
    assert response.status_code == 200
    message = await _only(client, target)
    assert message["attachments"] == []
    assert "invoice-2024-11.pdf not downloaded: 25.0 MB is over the" in message["text"]
    assert bot_api.calls_to("getFile") == []


async def test_file_server_failure_answers_500_so_telegram_sends_it_again(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    target = await _inbox(client, bot_api)
    update = fixture("voice")
    for file_id in file_ids(update):
        bot_api.add_file(file_id, content_for(file_id))
    bot_api.fail("getFile", 502)
    failed = await post_update(client, target.inbox["id"], update, target.secret)
    assert failed.status_code == 500
    assert await Message.count() == 0
    retried = await post_update(client, target.inbox["id"], update, target.secret)
    assert retried.status_code == 200
    assert len((await _only(client, target))["attachments"]) == 1
