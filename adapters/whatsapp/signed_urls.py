"""Signed, expiring URLs for outbound media.

WhatsApp providers do not accept uploads with a send call: they fetch the media from a URL we
give them. The URL must work without a login (the provider has none) yet must not expose every
attachment to whoever guesses an id, so it carries an HMAC over the attachment id and an expiry,
keyed by the instance secret. The web route `GET /media/{token}` checks the same token.
"""

from __future__ import annotations

import time

from hub.system.crypto import sign, verify

# Long enough for a provider's fetch after queueing (Twilio and Meta fetch within minutes), short
# enough that a leaked URL (logs, provider consoles) stops working soon.
DEFAULT_TTL_SECONDS = 3600
_PURPOSE = "hub.media-url.v1"


class InvalidMediaToken(ValueError):
    """The token was not made by this hub (or was altered): answer 403."""


class ExpiredMediaToken(InvalidMediaToken):
    """The token was genuine but its time is up: answer 410."""


def make_token(
    secret_key: str,
    attachment_id: int,
    *,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """`<attachment id>.<expiry epoch>.<hex HMAC>`: URL-safe, no padding, no lookups to check."""
    expires = int(now if now is not None else time.time()) + ttl_seconds
    payload = f"{attachment_id}.{expires}"
    return f"{payload}.{sign(secret_key, _PURPOSE, payload.encode())}"


def read_token(secret_key: str, token: str, *, now: float | None = None) -> int:
    """The attachment id of a genuine, unexpired token; raises InvalidMediaToken otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise InvalidMediaToken("the media link is malformed")
    payload = f"{parts[0]}.{parts[1]}"
    # The MAC is checked before the expiry, so a forged token never learns whether it expired.
    if not verify(secret_key, _PURPOSE, payload.encode(), parts[2]):
        raise InvalidMediaToken("the media link's signature is not valid")
    if int(parts[1]) < (now if now is not None else time.time()):
        raise ExpiredMediaToken("the media link has expired")
    return int(parts[0])


def media_url(
    public_url: str,
    secret_key: str,
    attachment_id: int,
    *,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> str:
    token = make_token(secret_key, attachment_id, ttl_seconds=ttl_seconds, now=now)
    return f"{public_url.rstrip('/')}/media/{token}"
