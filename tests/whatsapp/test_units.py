"""Pure helpers: signed media URLs, templates, the window rule, settings validation, parsers."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from adapters.whatsapp import (
    CloudChannel,
    TwilioChannel,
    parse_cloud,
    parse_twilio,
    templates,
    window,
)
from adapters.whatsapp.inbound import WithMedia
from adapters.whatsapp.signed_urls import (
    ExpiredMediaToken,
    InvalidMediaToken,
    make_token,
    media_url,
    read_token,
)
from hub.channels.contract import (
    DeliveryStatus,
    DeliveryUpdate,
    Identity,
    Outbound,
    OutboundAttachment,
    PermanentSendError,
)
from tests.whatsapp.helpers import PHONE_NUMBER_ID, cloud_fixture, twilio_fixture

KEY = "instance-secret-" + "k" * 40
NOW = 1_800_000_000.0


# Signed media URLs ----------------------------------------------------------------------------


def test_media_token_round_trip_and_url() -> None:
    token = make_token(KEY, 42, ttl_seconds=600, now=NOW)
    assert read_token(KEY, token, now=NOW + 599) == 42
    url = media_url("https://hub.example.com/", KEY, 42, ttl_seconds=600, now=NOW)
    assert url == f"https://hub.example.com/media/{token}"


def test_media_token_expires() -> None:
    token = make_token(KEY, 42, ttl_seconds=600, now=NOW)
    with pytest.raises(ExpiredMediaToken):
        read_token(KEY, token, now=NOW + 601)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: "43" + t[2:],  # another attachment
        lambda t: t.split(".")[0] + "." + str(int(t.split(".")[1]) + 3600) + "." + t.split(".")[2],
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),
        lambda t: t.rsplit(".", 1)[0],
        lambda t: "x" + t,
        lambda t: "",
    ],
    ids=["other-id", "longer-expiry", "mac-changed", "no-mac", "garbage", "empty"],
)
def test_media_token_tampering_is_refused(mutate: Any) -> None:
    token = make_token(KEY, 42, ttl_seconds=600, now=NOW)
    with pytest.raises(InvalidMediaToken) as caught:
        read_token(KEY, mutate(token), now=NOW)
    assert not isinstance(caught.value, ExpiredMediaToken)


def test_media_token_of_another_instance_is_refused() -> None:
    with pytest.raises(InvalidMediaToken):
        read_token("another-secret", make_token(KEY, 42, now=NOW), now=NOW)


def test_forged_expired_token_is_invalid_not_expired() -> None:
    """The MAC is checked first: a forger cannot learn anything from the expiry."""
    forged = "42.1.0000"
    with pytest.raises(InvalidMediaToken) as caught:
        read_token(KEY, forged, now=NOW)
    assert not isinstance(caught.value, ExpiredMediaToken)


# Templates ------------------------------------------------------------------------------------

CONFIGURED = templates.parse_config(
    [{"name": "reminder", "content_sid": "HX" + "a" * 32, "variables": ["name", "time"]}],
    provider="twilio",
)


@pytest.mark.parametrize(
    "variables",
    [["Ana", "10:00"], {"1": "Ana", "2": "10:00"}, {"name": "Ana", "time": "10:00"}],
    ids=["list", "numbered", "named"],
)
def test_template_variables_in_any_form(variables: Any) -> None:
    template, values = templates.resolve(CONFIGURED, {"name": "reminder", "variables": variables})
    assert values == ["Ana", "10:00"]
    assert json.loads(templates.twilio_variables(values)) == {"1": "Ana", "2": "10:00"}
    assert template.content_sid == "HX" + "a" * 32


@pytest.mark.parametrize(
    ("requested", "words"),
    [
        ({"name": "nope"}, "not configured"),
        ({"name": "reminder", "variables": ["Ana"]}, "needs 2 variable"),
        ({"name": "reminder", "variables": {"name": "Ana", "when": "x"}}, "no variable(s) when"),
        ({"name": "reminder", "variables": {"1": "Ana", "3": "x"}}, "without gaps"),
        ({"name": "reminder", "variables": ["Ana", " "]}, "needs a value"),
        ({"name": "reminder", "variables": ["Ana", {"x": 1}]}, "text or numbers"),
    ],
)
def test_template_requests_that_cannot_be_sent(requested: dict[str, Any], words: str) -> None:
    with pytest.raises(PermanentSendError) as caught:
        templates.resolve(CONFIGURED, requested)
    assert words in str(caught.value)


def test_cloud_template_payload() -> None:
    configured = templates.parse_config(
        [{"name": "reminder", "language": "pt_BR", "variables": ["name"]}], provider="cloud"
    )
    template, values = templates.resolve(configured, {"name": "reminder", "variables": ["Ana"]})
    assert templates.cloud_template(template, values) == {
        "name": "reminder",
        "language": {"code": "pt_BR"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}],
    }


@pytest.mark.parametrize(
    ("raw", "provider", "words"),
    [
        ("x", "twilio", "must be a list"),
        ([{"name": "a"}], "twilio", "content_sid"),
        ([{"name": "a", "content_sid": "HX1"}], "twilio", "content_sid"),
        ([{"name": "a"}], "cloud", "language"),
        (
            [{"name": "a", "language": "en_US"}, {"name": "a", "language": "en_US"}],
            "cloud",
            "twice",
        ),
        ([{"language": "en_US"}], "cloud", "templates[0]"),
    ],
)
def test_template_settings_are_checked(raw: Any, provider: str, words: str) -> None:
    with pytest.raises(ValueError) as caught:
        templates.parse_config(raw, provider=provider)
    assert words in str(caught.value)


# The window -----------------------------------------------------------------------------------


def test_window_is_24_hours_from_the_last_inbound() -> None:
    last = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert window.closes_at(last) == dt.datetime(2026, 1, 2, 12, 0, tzinfo=dt.UTC)
    window.check(last, now=last + dt.timedelta(hours=23, minutes=59))
    with pytest.raises(PermanentSendError) as caught:
        window.check(last, now=last + dt.timedelta(hours=24))
    assert "24-hour" in str(caught.value) and caught.value.code == "outside_window"
    with pytest.raises(PermanentSendError):
        window.check(None)
    assert TwilioChannel.reply_window_hours == CloudChannel.reply_window_hours == 24


# Settings -------------------------------------------------------------------------------------

TWILIO_OK = {
    "account_sid": "AC" + "0" * 32,
    "auth_token": "t",
    "from_number": "whatsapp:+14155238886",
}
CLOUD_OK = {"phone_number_id": "123", "access_token": "a", "app_secret": "s"}


def test_twilio_settings_are_completed() -> None:
    cleaned = TwilioChannel.validate_config(TWILIO_OK)
    assert cleaned["from_number"] == "+14155238886"
    assert cleaned["api_base_url"] == "https://api.twilio.com"
    assert cleaned["templates"] == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"account_sid": "AC123"}, "account_sid"),
        ({"auth_token": ""}, "auth_token"),
        ({"from_number": "0155 1234"}, "E.164"),
        ({"api_base_url": "ftp://x"}, "api_base_url"),
        ({"webhook_base_url": "nope"}, "webhook_base_url"),
    ],
)
def test_twilio_settings_are_checked(change: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError) as caught:
        TwilioChannel.validate_config({**TWILIO_OK, **change})
    assert words in str(caught.value)


def test_cloud_settings_are_completed() -> None:
    cleaned = CloudChannel.validate_config(CLOUD_OK)
    assert cleaned["graph_base_url"] == "https://graph.facebook.com"
    assert cleaned["graph_api_version"].startswith("v")
    assert len(cleaned["verify_token"]) >= 24  # generated, shown once, then write-only
    assert "verify_token" in CloudChannel.secret_fields


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"phone_number_id": "+1555"}, "phone_number_id"),
        ({"access_token": ""}, "access_token"),
        ({"app_secret": ""}, "app_secret"),
        ({"graph_api_version": "21"}, "graph_api_version"),
    ],
)
def test_cloud_settings_are_checked(change: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError) as caught:
        CloudChannel.validate_config({**CLOUD_OK, **change})
    assert words in str(caught.value)


# Parsers (the webhook tests cover each fixture end to end; these pin the details) -------------


def test_twilio_status_mapping() -> None:
    assert parse_twilio.parse_status({"MessageSid": "SM1", "MessageStatus": "queued"}, 1) == []
    (failed,) = parse_twilio.parse_status(twilio_fixture("status_undelivered_63016"), 1)
    assert failed.status == DeliveryStatus.FAILED and failed.error_code == "63016"
    assert "24-hour" in failed.error


def test_twilio_status_posted_to_the_message_url_is_recognised() -> None:
    assert parse_twilio.is_status_callback(twilio_fixture("status_read"))
    assert not parse_twilio.is_status_callback(twilio_fixture("inbound_text"))


def test_cloud_skips_other_phone_numbers_and_other_fields() -> None:
    payload = cloud_fixture("multi")
    assert len(parse_cloud.parse(payload, 1, PHONE_NUMBER_ID)) == 4
    assert parse_cloud.parse(payload, 1, "999") == []


def test_cloud_unsupported_and_reaction_are_kept_as_lines() -> None:
    (unsupported,) = parse_cloud.parse(cloud_fixture("unsupported"), 1, PHONE_NUMBER_ID)
    assert isinstance(unsupported, WithMedia)
    assert unsupported.inbound.text == "[unsupported message: Message type unknown]"
    (reaction,) = parse_cloud.parse(cloud_fixture("reaction"), 1, PHONE_NUMBER_ID)
    assert isinstance(reaction, WithMedia)
    assert reaction.inbound.text == "reacted \U0001f44d"
    assert reaction.inbound.hints.reply_to_provider_id


def test_cloud_failed_status_names_the_window() -> None:
    (update,) = parse_cloud.parse(cloud_fixture("status_failed"), 1, PHONE_NUMBER_ID)
    assert isinstance(update, DeliveryUpdate)
    assert update.error_code == "131047" and "24-hour" in update.error


@pytest.mark.parametrize(
    ("channel", "config"), [(TwilioChannel, TWILIO_OK), (CloudChannel, CLOUD_OK)]
)
def test_more_than_one_attachment_is_refused_by_both_providers(
    channel: Any, config: dict[str, str]
) -> None:
    adapter = channel(
        inbox_id=1, config=channel.validate_config(config), public_url="http://127.0.0.1:8000"
    )
    files = [
        OutboundAttachment(id=n, filename=f"{n}.png", content_type="image/png", size=1, path="/x")
        for n in (1, 2)
    ]
    message = Outbound(
        inbox_id=1,
        conversation_id=1,
        conversation_ref=1000,
        message_id=1,
        recipient=Identity("phone", "+4520123456"),
        text="two photos",
        attachments=files,
    )
    build = adapter._params if channel is TwilioChannel else adapter._payload
    with pytest.raises(PermanentSendError) as caught:
        build(message)
    assert caught.value.code == "too_many_attachments"
    assert "one attachment per message" in str(caught.value)
