"""Media downloads go only to the provider: a Twilio webhook naming another host is not fetched."""

from __future__ import annotations

import pytest

from adapters.whatsapp import media
from adapters.whatsapp.inbound import MediaRef
from adapters.whatsapp.twilio import TwilioChannel

CONFIG = {
    "account_sid": "AC" + "0" * 32,
    "auth_token": "token",
    "from_number": "+14155238886",
    "api_base_url": "https://api.twilio.com",
}


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # the cloud's metadata service
        "http://127.0.0.1:5432/",
        "http://10.0.0.5/admin",
        "https://api.twilio.com.evil.example/x",
    ],
)
async def test_foreign_media_urls_are_refused_without_a_request(url: str) -> None:
    channel = TwilioChannel(inbox_id=1, config=CONFIG, public_url="https://hub.example")
    with pytest.raises(media.MediaError, match="not on Twilio"):
        await channel._fetch_media(MediaRef(url, "image/jpeg"))
