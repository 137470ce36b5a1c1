"""Long polling: getUpdates with offsets, state saved after ingest, confirmation on the next poll."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from hub.db.engine import engine
from hub.db.tables import Message
from hub.ingest import polling
from hub.system.config import Settings
from tests.conftest import admin_key, eventually
from tests.telegram.conftest import content_for, file_ids, fixture, make_inbox
from tests.telegram.fake_bot_api import FakeBotApi


async def _state(inbox_id: int) -> dict[str, Any]:
    pool = engine().pool
    assert pool is not None
    raw = await pool.fetchval("SELECT state FROM channel_state WHERE inbox = $1", inbox_id)
    return dict(msgspec.json.decode(raw)) if raw else {}


def _queue(bot_api: FakeBotApi, name: str) -> dict[str, Any]:
    update = fixture(name)
    for file_id in file_ids(update):
        bot_api.add_file(file_id, content_for(file_id), path=f"files/{file_id[-12:]}")
    return bot_api.queue_update(update)


async def test_poll_ingests_saves_the_offset_and_confirms_on_the_next_poll(
    quiet_client: httpx.AsyncClient, bot_api: FakeBotApi, settings: Settings
) -> None:
    headers = await admin_key(quiet_client)
    inbox = await make_inbox(quiet_client, headers, bot_api, mode="polling", poll_timeout=1)
    assert inbox["id"] in await polling.polling_inbox_ids(settings.secret_key, settings.public_url)
    _queue(bot_api, "private_text")
    _queue(bot_api, "photo")
    _queue(bot_api, "group_message")  # ignored, but its update is consumed all the same
    last = bot_api.pending[-1]["update_id"]

    def poll() -> Any:
        return polling.poll_inbox(
            inbox["id"], secret_key=settings.secret_key, public_url=settings.public_url
        )

    result = await poll()
    assert result["stored"] == 2
    assert await Message.count() == 2
    assert (await _state(inbox["id"]))["offset"] == last + 1
    assert bot_api.offsets == [None]
    call = bot_api.calls_to("getUpdates")[0]
    assert call.params["timeout"] == "1" and call.params["limit"] == "100"
    # Not confirmed yet: Telegram still holds them until the next call passes the offset.
    assert len(bot_api.pending) == 3

    result = await poll()
    assert result["stored"] == 0
    assert bot_api.offsets == [None, last + 1]
    assert bot_api.pending == []

    # A redelivered update (say the state was lost) is a no-op through ingest's idempotency.
    bot_api.queue_update(fixture("private_text"))
    await poll()
    assert await Message.count() == 2


async def test_webhook_inboxes_are_not_polled(
    quiet_client: httpx.AsyncClient, bot_api: FakeBotApi, settings: Settings
) -> None:
    headers = await admin_key(quiet_client)
    inbox = await make_inbox(quiet_client, headers, bot_api)
    assert inbox["id"] not in await polling.polling_inbox_ids(
        settings.secret_key, settings.public_url
    )


async def test_the_worker_polls_end_to_end(client: httpx.AsyncClient, bot_api: FakeBotApi) -> None:
    """Created through the API, fetched by the worker's cron, replied to through the same bot."""
    headers = await admin_key(client)
    inbox = await make_inbox(client, headers, bot_api, mode="polling", poll_timeout=1)
    first = _queue(bot_api, "private_text")["update_id"]

    async def stored() -> bool:
        # The state is saved just after the messages are committed: wait for both.
        return await Message.count() == 1 and (await _state(inbox["id"])).get("offset") == first + 1

    await eventually(stored, timeout=20)

    async def confirmed() -> bool:
        return first + 1 in bot_api.offsets and bot_api.pending == []

    await eventually(confirmed, timeout=20)

    second = _queue(bot_api, "reply")["update_id"]

    async def both() -> bool:
        return await Message.count() == 2 and (await _state(inbox["id"]))["offset"] == second + 1

    await eventually(both, timeout=20)
    conversations = (
        await client.get("/api/v1/conversations", params={"inbox_id": inbox["id"]}, headers=headers)
    ).json()["items"]
    assert len(conversations) == 1


async def test_a_file_server_failure_defers_that_update_to_the_next_poll(
    quiet_client: httpx.AsyncClient, bot_api: FakeBotApi, settings: Settings
) -> None:
    headers = await admin_key(quiet_client)
    inbox = await make_inbox(quiet_client, headers, bot_api, mode="polling", poll_timeout=0)
    first = _queue(bot_api, "private_text")["update_id"]
    voice = _queue(bot_api, "voice")["update_id"]
    bot_api.fail("getFile", 502)
    options = {"secret_key": settings.secret_key, "public_url": settings.public_url}
    assert (await polling.poll_inbox(inbox["id"], **options))["stored"] == 1
    assert (await _state(inbox["id"]))["offset"] == first + 1  # the voice update is not confirmed
    assert [u["update_id"] for u in bot_api.pending] == [first, voice]
    assert (await polling.poll_inbox(inbox["id"], **options))["stored"] == 1
    assert (await _state(inbox["id"]))["offset"] == voice + 1
    assert await Message.count() == 2


async def test_an_unreadable_polled_update_is_kept_and_skipped(
    quiet_client: httpx.AsyncClient, bot_api: FakeBotApi, settings: Settings
) -> None:
    headers = await admin_key(quiet_client)
    inbox = await make_inbox(quiet_client, headers, bot_api, mode="polling", poll_timeout=0)
    bad = bot_api.queue_update({"message": {"message_id": "seven", "chat": {}}})["update_id"]
    _queue(bot_api, "private_text")
    options = {"secret_key": settings.secret_key, "public_url": settings.public_url}
    assert (await polling.poll_inbox(inbox["id"], **options))["stored"] == 1
    pool = engine().pool
    assert pool is not None
    kept = await pool.fetchrow(
        "SELECT channel, error FROM raw_payload WHERE inbox = $1", inbox["id"]
    )
    assert kept is not None and kept["channel"] == "telegram"
    assert "not a Telegram update" in kept["error"]
    assert (await _state(inbox["id"]))["offset"] > bad
