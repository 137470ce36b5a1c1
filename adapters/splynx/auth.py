"""Splynx API v2 authentication: the signed login request and the token pair it yields.

Splynx signs a login with HMAC-SHA256 over nonce + key; the nonce is meant to grow with every
request, so it is derived from the clock but never allowed to repeat or go backwards.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Splynx binds a token to the user agent that obtained it (USER_AGENT_CHANGED), so every
# request sends the same one, whatever the httpx version or a shared client's defaults.
USER_AGENT = "hub-splynx/1"

# Renew this long before the access token's stated expiry, so a request never leaves with a
# token that dies in flight.
RENEW_MARGIN = 5.0


def signature(key: str, secret: str, nonce: int) -> str:
    """UPPER(hex(HMAC-SHA256(secret, str(nonce) + key))), as the official clients compute it."""
    digest = hmac.new(secret.encode(), f"{nonce}{key}".encode(), hashlib.sha256).hexdigest()
    return digest.upper()


class NonceSource:
    """round(clock() * 100), bumped past the previous value when the clock stalls or steps back."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last = 0

    def next(self) -> int:
        self._last = max(round(self._clock() * 100), self._last + 1)
        return self._last


def login_payload(key: str, secret: str, nonce: int) -> dict[str, Any]:
    return {
        "auth_type": "api_key",
        "key": key,
        "nonce": nonce,
        "signature": signature(key, secret, nonce),
    }


def authorization(access_token: str) -> str:
    return f"Splynx-EA (access_token={access_token})"


@dataclass(frozen=True)
class Tokens:
    """The pair from a login or a renewal. Tokens are credentials: they stay out of repr."""

    access_token: str = field(repr=False)
    access_expires: float
    refresh_token: str = field(repr=False)
    refresh_expires: float

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> Tokens:
        try:
            return cls(
                access_token=str(payload["access_token"]),
                access_expires=float(payload["access_token_expiration"]),
                refresh_token=str(payload["refresh_token"]),
                refresh_expires=float(payload["refresh_token_expiration"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            # The exception text would not contain token values, only the field that failed.
            raise ValueError(f"Splynx token response lacks a valid field: {exc}") from None

    def access_usable(self, now: float) -> bool:
        return now + RENEW_MARGIN <= self.access_expires

    def refresh_usable(self, now: float) -> bool:
        return now + RENEW_MARGIN <= self.refresh_expires
