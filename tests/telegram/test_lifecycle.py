"""Creating, switching and deleting Telegram inboxes against the fake Bot API."""

from __future__ import annotations

import httpx
import pytest

from adapters.telegram.wire import ALLOWED_UPDATES
from hub.channels.contract import BaseAdapter
from tests.conftest import admin_key
from tests.telegram.conftest import create_inbox, make_inbox
from tests.telegram.fake_bot_api import FakeBotApi


async def test_webhook_inbox_checks_the_token_and_registers_the_webhook(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers = await admin_key(client)
    inbox = await make_inbox(client, headers, bot_api)
    assert [c.method for c in bot_api.calls] == ["getMe", "setWebhook"]
    assert inbox["webhook_url"].endswith(f"/webhooks/telegram/{inbox['id']}")
    assert bot_api.webhook["url"] == inbox["webhook_url"]
    assert bot_api.webhook["allowed_updates"] == ALLOWED_UPDATES
    # The generated secret is shown once, is the one Telegram got, and is never shown again.
    secret = inbox["generated_secrets"]["webhook_secret"]
    assert secret == bot_api.webhook["secret_token"] and len(secret) >= 32
    assert inbox["config"]["mode"] == "webhook"
    assert inbox["config"]["bot_username"] == "hub_test_bot"
    assert "bot_token" not in inbox["config"] and "webhook_secret" not in inbox["config"]
    assert inbox["secrets_set"] == ["bot_token", "webhook_secret"]
    shown = (await client.get(f"/api/v1/inboxes/{inbox['id']}", headers=headers)).json()
    assert "generated_secrets" not in shown and "webhook_secret" not in shown["config"]


async def test_wrong_token_is_a_clear_422_and_leaves_no_inbox(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers = await admin_key(client)
    response = await create_inbox(
        client, headers, bot_api, bot_token="7012345678:AAHwrongwrongwrongwrongwrongwrong12"
    )
    assert response.status_code == 422, response.text
    assert "Telegram refused the bot token" in response.json()["error"]["message"]
    assert bot_api.unauthorized == 1 and bot_api.webhook == {}
    assert (await client.get("/api/v1/inboxes", headers=headers)).json()["items"] == []


async def test_malformed_token_and_mode_are_refused_without_calling_telegram(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers = await admin_key(client)
    for config in ({"bot_token": "not a token"}, {"mode": "push"}, {"api_base_url": "ftp://x"}):
        response = await create_inbox(client, headers, bot_api, **config)
        assert response.status_code == 422, (config, response.text)
    assert bot_api.calls == []


async def test_refused_webhook_is_a_422(client: httpx.AsyncClient, bot_api: FakeBotApi) -> None:
    headers = await admin_key(client)
    bot_api.fail(
        "setWebhook", 400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
    )
    response = await create_inbox(client, headers, bot_api)
    assert response.status_code == 422
    assert "An HTTPS URL must be provided" in response.json()["error"]["message"]


async def test_polling_inbox_removes_any_webhook(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers = await admin_key(client)
    bot_api.webhook = {"url": "https://old.example.com/hook", "secret_token": "old"}
    inbox = await make_inbox(client, headers, bot_api, mode="polling")
    assert [c.method for c in bot_api.calls] == ["getMe", "deleteWebhook"]
    assert bot_api.calls[-1].params["drop_pending_updates"] == "false"
    assert bot_api.webhook == {}
    assert "generated_secrets" not in inbox


async def test_deleting_the_inbox_removes_its_webhook(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers = await admin_key(client)
    inbox = await make_inbox(client, headers, bot_api)
    response = await client.delete(f"/api/v1/inboxes/{inbox['id']}", headers=headers)
    assert response.status_code == 204
    assert [c.method for c in bot_api.calls[-2:]] == ["getWebhookInfo", "deleteWebhook"]
    assert bot_api.webhook == {}


async def test_deleting_keeps_a_webhook_that_now_serves_another_inbox(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers = await admin_key(client)
    old = await make_inbox(client, headers, bot_api)
    new = await make_inbox(client, headers, bot_api)  # the same bot, moved to a new inbox
    await client.delete(f"/api/v1/inboxes/{old['id']}", headers=headers)
    assert bot_api.calls_to("deleteWebhook") == []
    assert bot_api.webhook["url"] == new["webhook_url"]


@pytest.mark.skipif(
    not hasattr(BaseAdapter, "on_updated"), reason="the hub has no settings-change hook yet"
)
async def test_switching_between_webhook_and_polling(
    client: httpx.AsyncClient, bot_api: FakeBotApi
) -> None:
    headers = await admin_key(client)
    # A short poll_timeout: a poll the worker starts while in polling mode ends quickly.
    inbox = await make_inbox(client, headers, bot_api, poll_timeout=1)
    secret = bot_api.webhook["secret_token"]
    url = f"/api/v1/inboxes/{inbox['id']}"
    response = await client.patch(url, json={"config": {"mode": "polling"}}, headers=headers)
    assert response.status_code == 200, response.text
    assert bot_api.calls[-1].method == "deleteWebhook" and bot_api.webhook == {}
    response = await client.patch(url, json={"config": {"mode": "webhook"}}, headers=headers)
    assert response.status_code == 200, response.text
    assert bot_api.webhook["url"] == inbox["webhook_url"]
    assert bot_api.webhook["secret_token"] == secret  # the stored secret is kept
    # A rename touches nothing at Telegram.
    calls = len(bot_api.calls)
    await client.patch(url, json={"name": "Support bot"}, headers=headers)
    assert len(bot_api.calls) == calls
