"""Issue 22.3: stored, write-only credentials cannot be sent to a host an admin points them at."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from adapters.email.channel import EmailChannel
from adapters.whatsapp.cloud import CloudChannel
from adapters.whatsapp.inbound import MediaRef
from adapters.whatsapp.media import MediaError
from adapters.whatsapp.twilio import TwilioChannel
from hub.channels import credentials, inboxes
from hub.system.config import Settings
from tests.conftest import admin_key, serving, unique, with_settings
from tests.telegram.conftest import bot_api, make_inbox  # noqa: F401  (a fixture)
from tests.telegram.fake_bot_api import FakeBotApi
from tests.whatsapp.fake_graph import FakeGraph
from tests.whatsapp.helpers import ACCESS_TOKEN, PHONE_NUMBER_ID, cloud_config


@pytest.fixture
async def attacker_api() -> AsyncIterator[FakeBotApi]:
    """A second Bot API server: the host of someone who wants the bot token."""
    fake = FakeBotApi()
    async with serving(fake.app()) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed: custom provider URLs are not allowed."""
    from web.app import create_app

    app = create_app(with_settings(settings, allow_custom_provider_urls=False), run_worker=False)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


async def test_moving_telegram_to_another_api_server_needs_the_token_again(
    client: httpx.AsyncClient,
    bot_api: FakeBotApi,  # noqa: F811
    attacker_api: FakeBotApi,
) -> None:
    headers = await admin_key(client)
    inbox = await make_inbox(client, headers, bot_api)
    moved = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"config": {"api_base_url": attacker_api.base_url}},
        headers=headers,
    )
    assert moved.status_code == 422, moved.text
    assert "bot_token" in moved.json()["error"]["message"]
    assert attacker_api.calls == []  # nothing, and above all not the token, went there
    shown = (await client.get(f"/api/v1/inboxes/{inbox['id']}", headers=headers)).json()
    assert shown["config"]["api_base_url"] == bot_api.base_url


async def test_a_moved_telegram_inbox_gets_a_new_webhook_secret(
    client: httpx.AsyncClient,
    bot_api: FakeBotApi,  # noqa: F811
    attacker_api: FakeBotApi,
) -> None:
    # Whoever knows the token may move the bot, but the old webhook secret stays with the hub.
    headers = await admin_key(client)
    inbox = await make_inbox(client, headers, bot_api)
    old_secret = bot_api.calls_to("setWebhook")[-1].params["secret_token"]
    moved = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"config": {"api_base_url": attacker_api.base_url, "bot_token": attacker_api.token}},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    new_secret = attacker_api.calls_to("setWebhook")[-1].params["secret_token"]
    assert new_secret and new_secret != old_secret


async def test_custom_provider_hosts_need_the_operator_setting(
    strict_client: httpx.AsyncClient,
    bot_api: FakeBotApi,  # noqa: F811
    attacker_api: FakeBotApi,
) -> None:
    headers = await admin_key(strict_client)
    refused = await strict_client.post(
        "/api/v1/inboxes",
        json={
            "name": unique("telegram"),
            "channel": "telegram",
            "config": {"bot_token": bot_api.token, "api_base_url": bot_api.base_url},
        },
        headers=headers,
    )
    assert refused.status_code == 422, refused.text
    assert "HUB_ALLOW_CUSTOM_PROVIDER_URLS" in refused.json()["error"]["message"]
    assert bot_api.calls == []
    # An inbox made while the setting was on can be edited, but not moved to another custom host.
    row, _ = await inboxes.create_inbox(
        unique("telegram"),
        "telegram",
        {"bot_token": bot_api.token, "api_base_url": bot_api.base_url},
        secret_key="test-secret-" + "x" * 40,
        public_url="http://127.0.0.1:8000",
        allow_custom_provider_urls=True,
    )
    renamed = await strict_client.patch(
        f"/api/v1/inboxes/{row['id']}",
        json={"name": "renamed", "config": {"allow_groups": True}},
        headers=headers,
    )
    assert renamed.status_code == 200, renamed.text
    moved = await strict_client.patch(
        f"/api/v1/inboxes/{row['id']}",
        json={"config": {"api_base_url": attacker_api.base_url, "bot_token": bot_api.token}},
        headers=headers,
    )
    assert moved.status_code == 422, moved.text
    assert attacker_api.calls == []


@pytest.mark.parametrize(
    ("cls", "previous", "change", "needed"),
    [
        (
            CloudChannel,
            {"graph_base_url": "https://graph.facebook.com", "access_token": "t"},
            {"graph_base_url": "https://evil.example"},
            "access_token",
        ),
        (
            TwilioChannel,
            {"api_base_url": "https://api.twilio.com", "auth_token": "t"},
            {"api_base_url": "https://evil.example"},
            "auth_token",
        ),
        (
            EmailChannel,
            {"imap_host": "imap.example.com", "imap_password": "pw"},
            {"imap_host": "evil.example"},
            "imap_password",
        ),
        (
            EmailChannel,
            {"smtp_host": "smtp.example.com", "imap_password": "pw"},
            {"smtp_host": "evil.example"},
            "imap_password",  # SMTP falls back to the IMAP password
        ),
    ],
)
def test_every_channel_needs_its_secrets_again_for_another_host(
    cls: Any, previous: dict[str, Any], change: dict[str, Any], needed: str
) -> None:
    merged = {**previous, **change}
    with pytest.raises(credentials.CredentialRule, match=needed):
        credentials.check_secrets_given_again(cls, previous, change, merged)
    again = {**change, needed: "given again"}
    credentials.check_secrets_given_again(cls, previous, again, {**merged, **again})


@pytest.mark.parametrize(
    ("cls", "url", "ok"),
    [
        (CloudChannel, "https://graph.facebook.com", True),
        (CloudChannel, "http://graph.facebook.com", False),
        (CloudChannel, "https://graph.facebook.com.evil.example", False),
        (TwilioChannel, "https://api.twilio.com", True),
        (TwilioChannel, "https://api.dublin.ie1.twilio.com", True),
        (TwilioChannel, "https://eviltwilio.com", False),
    ],
)
def test_provider_hosts(cls: Any, url: str, ok: bool) -> None:
    key = next(iter(cls.provider_hosts))
    check = lambda: credentials.check_provider_urls(  # noqa: E731
        cls, {key: url}, previous=None, allow_custom=False
    )
    if ok:
        check()
    else:
        with pytest.raises(credentials.CredentialRule):
            check()


async def test_cloud_media_token_goes_to_meta_only() -> None:
    # The Graph answer names the download URL; a URL elsewhere must not receive the token.
    graph = FakeGraph(ACCESS_TOKEN, PHONE_NUMBER_ID)
    elsewhere = FakeGraph(ACCESS_TOKEN, PHONE_NUMBER_ID)
    elsewhere.media["m-1"] = (b"photo", "image/jpeg")
    graph.media["m-1"] = (b"photo", "image/jpeg")
    async with serving(graph.app()) as graph_url, serving(elsewhere.app()) as elsewhere_url:
        graph.base_url = elsewhere_url  # where its media URLs point
        channel = CloudChannel(
            inbox_id=1,
            config=CloudChannel.validate_config(
                cloud_config(graph) | {"graph_base_url": graph_url}
            ),
            public_url="http://127.0.0.1:8000",
        )
        with pytest.raises(MediaError):
            await channel._fetch_media(MediaRef("m-1"))
    assert elsewhere.media_downloads == 0 and elsewhere.unauthorized == 1
