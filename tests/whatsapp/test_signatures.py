"""The signature schemes, checked against the contracts' test vectors and through the adapters."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from adapters.whatsapp import CloudChannel, TwilioChannel
from adapters.whatsapp.cloud import signature as cloud_signature
from hub.channels.contract import RequestData, SignatureError

# From the Twilio contract.
TWILIO_TOKEN = "12345"
TWILIO_URL = "https://example.com/twilio/wa"
TWILIO_PARAMS = {"From": "whatsapp:+15551234567", "Body": "hi", "MessageSid": "SM123"}
TWILIO_SIGNATURE = "ToytV0aoUhXp/V52CWBVZxub1NU="
# From the Cloud API contract.
CLOUD_SECRET = "appsecret"
CLOUD_BODY = b'{"type":"event"}'
CLOUD_SIGNATURE = "sha256=f6fb36b37dc346621089215a7e84a481d0b4ccc4cb6ee17b80490b11c53dbbb7"


def twilio_adapter(**config: str) -> TwilioChannel:
    return TwilioChannel(
        inbox_id=1,
        config={"auth_token": TWILIO_TOKEN, **config},
        public_url="https://example.com",
    )


def twilio_request(url: str, signature: str | None, params: dict[str, str]) -> RequestData:
    headers = {"x-twilio-signature": signature} if signature is not None else {}
    return RequestData(
        method="POST",
        url=url,
        path="/twilio/wa",
        headers=headers,
        query={},
        body=urlencode(params).encode(),
    )


def test_twilio_vector_with_the_library() -> None:
    validator = RequestValidator(TWILIO_TOKEN)
    assert validator.compute_signature(TWILIO_URL, TWILIO_PARAMS) == TWILIO_SIGNATURE
    assert validator.validate(TWILIO_URL, TWILIO_PARAMS, TWILIO_SIGNATURE)


@pytest.mark.parametrize(
    "url",
    [TWILIO_URL, "https://example.com:443/twilio/wa"],
    ids=["as-signed", "explicit-port"],
)
async def test_twilio_vector_through_the_adapter(url: str) -> None:
    await twilio_adapter().verify(twilio_request(url, TWILIO_SIGNATURE, TWILIO_PARAMS))


@pytest.mark.parametrize(
    ("url", "signature", "params"),
    [
        (TWILIO_URL, "ToytV0aoUhXp/V52CWBVZxub1NV=", TWILIO_PARAMS),
        (TWILIO_URL, TWILIO_SIGNATURE, {**TWILIO_PARAMS, "Body": "hi!"}),
        ("https://example.com/twilio/other", TWILIO_SIGNATURE, TWILIO_PARAMS),
        (TWILIO_URL, "", TWILIO_PARAMS),
        (TWILIO_URL, None, TWILIO_PARAMS),
    ],
    ids=["wrong-signature", "changed-param", "other-url", "empty-header", "no-header"],
)
async def test_twilio_bad_signatures_raise(
    url: str, signature: str | None, params: dict[str, str]
) -> None:
    with pytest.raises(SignatureError):
        await twilio_adapter().verify(twilio_request(url, signature, params))


async def test_twilio_repeated_parameters_are_all_signed() -> None:
    """Twilio signs every value of a repeated name; a first-value-only form would not match."""
    url = TWILIO_URL + "?x=1"
    body = b"MediaUrl=b&MediaUrl=a&Body=hi"
    validator = RequestValidator(TWILIO_TOKEN)
    every_value = validator.compute_signature(url, _Multi({"Body": ["hi"], "MediaUrl": ["a", "b"]}))
    first_only = validator.compute_signature(url, {"Body": "hi", "MediaUrl": "b"})

    def request(signature: str) -> RequestData:
        return RequestData("POST", url, "/twilio/wa", {"x-twilio-signature": signature}, {}, body)

    await twilio_adapter().verify(request(every_value))
    with pytest.raises(SignatureError):
        await twilio_adapter().verify(request(first_only))


async def test_twilio_signature_over_a_configured_webhook_base_url() -> None:
    """Behind a proxy Twilio may call a host other than HUB_PUBLIC_URL: the inbox says which."""
    adapter = twilio_adapter(webhook_base_url="https://example.com")
    request = twilio_request("http://internal:8000/twilio/wa", TWILIO_SIGNATURE, TWILIO_PARAMS)
    await adapter.verify(request)
    with pytest.raises(SignatureError):
        await twilio_adapter().verify(request)


class _Multi(dict[str, list[str]]):
    def getall(self, name: str) -> list[str]:
        return self[name]


def cloud_request(body: bytes, signature: str | None) -> RequestData:
    headers = {"x-hub-signature-256": signature} if signature is not None else {}
    return RequestData("POST", "https://example.com/webhooks/whatsapp/1", "/", headers, {}, body)


def cloud_adapter() -> CloudChannel:
    return CloudChannel(
        inbox_id=1,
        config={"app_secret": CLOUD_SECRET, "verify_token": "T"},
        public_url="https://example.com",
    )


def test_cloud_vector() -> None:
    assert cloud_signature(CLOUD_SECRET, CLOUD_BODY) == CLOUD_SIGNATURE


async def test_cloud_vector_through_the_adapter() -> None:
    await cloud_adapter().verify(cloud_request(CLOUD_BODY, CLOUD_SIGNATURE))
    # Hex digits are compared case-insensitively, as Meta's SDK does.
    await cloud_adapter().verify(cloud_request(CLOUD_BODY, "sha256=" + CLOUD_SIGNATURE[7:].upper()))


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        (CLOUD_BODY, CLOUD_SIGNATURE[:-1] + "8"),
        (b'{"type": "event"}', CLOUD_SIGNATURE),  # same JSON, other bytes: the raw body counts
        (CLOUD_BODY, CLOUD_SIGNATURE[7:]),  # without the sha256= prefix
        (CLOUD_BODY, ""),
        (CLOUD_BODY, None),
    ],
    ids=["wrong-digest", "reformatted-body", "no-prefix", "empty-header", "no-header"],
)
async def test_cloud_bad_signatures_raise(body: bytes, signature: str | None) -> None:
    with pytest.raises(SignatureError):
        await cloud_adapter().verify(cloud_request(body, signature))


@pytest.mark.parametrize(
    ("query", "status", "body"),
    [
        (
            {"hub.mode": "subscribe", "hub.verify_token": "T", "hub.challenge": "1158201444"},
            200,
            "1158201444",
        ),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, 403, None),
        ({"hub.mode": "unsubscribe", "hub.verify_token": "T", "hub.challenge": "1"}, 403, None),
        ({}, 403, None),
    ],
    ids=["right-token", "wrong-token", "wrong-mode", "nothing"],
)
async def test_cloud_handshake(query: dict[str, str], status: int, body: str | None) -> None:
    request = RequestData("GET", "https://example.com/", "/", {}, query, b"")
    reply = await cloud_adapter().handshake(request)
    assert reply.status == status
    if body is not None:
        assert reply.body == body and reply.media_type == "text/plain"
