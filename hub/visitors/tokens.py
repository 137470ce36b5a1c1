"""Visitors of an embedded chat: their signed tokens and the embedding site's identity proof.

A visitor is a `webchat` identity (`<inbox>:anon:<random>` for anonymous visitors,
`<inbox>:user:<identifier>` for users an embedding site vouched for). The token the browser keeps
is stateless: the instance secret signs (inbox, visitor), so no session table is needed and any
web process can check it. What a visitor may see is filtered in one place, `hub.visitors.views`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Any

import msgspec

from hub.system.crypto import constant_time_equal, sign, verify

KIND = "webchat"


RESUME_TTL_SECONDS = 30 * 24 * 3600  # the "continue the chat" link in an email
# A visitor token is refused this long after it was issued: a copied token does not work forever.
# The widget then starts a new session (a verified user gets the same contact back).
VISITOR_TTL_SECONDS = 30 * 24 * 3600


class Visitor(msgspec.Struct, frozen=True, array_like=True):
    inbox_id: int
    address: str  # the `webchat` identity's address
    verified: bool = False  # the embedding site proved who this is (identifier_hash)
    issued_at: int = 0
    # The visitor's revocation generation when issued (hub.visitors.revocation); 0 for tokens
    # issued before revocation existed, which is every visitor's generation until revoked.
    generation: int = 0


def _pack(secret_key: str, purpose: str, prefix: str, payload: Any) -> str:
    body = base64.urlsafe_b64encode(msgspec.json.encode(payload)).decode().rstrip("=")
    return f"{prefix}.{body}.{sign(secret_key, purpose, body.encode())}"


def _unpack(secret_key: str, purpose: str, prefix: str, token: str) -> bytes | None:
    head, _, rest = token.strip().partition(".")
    body, _, mac = rest.partition(".")
    if head != prefix or not mac or len(token) > 2000:
        return None
    if not verify(secret_key, purpose, body.encode(), mac):
        return None
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None


def issue_token(secret_key: str, visitor: Visitor) -> str:
    """The visitor token the browser keeps (localStorage) and sends with every call."""
    stamped = msgspec.structs.replace(visitor, issued_at=visitor.issued_at or int(time.time()))
    return _pack(secret_key, "widget-visitor", "v1", stamped)


def read_token(secret_key: str, token: str, *, now: float | None = None) -> Visitor | None:
    """The visitor of a genuine, unexpired token (revocation is checked by the caller: it needs
    the database)."""
    raw = _unpack(secret_key, "widget-visitor", "v1", token)
    if raw is None:
        return None
    try:
        visitor = msgspec.json.decode(raw, type=Visitor)
    except msgspec.ValidationError:
        return None
    age = (time.time() if now is None else now) - visitor.issued_at
    return visitor if age + 300 >= 0 and age <= VISITOR_TTL_SECONDS else None


def issue_resume_token(secret_key: str, inbox_id: int, address: str) -> str:
    """A link token that lets the visitor continue the chat from an email, for a limited time."""
    return _pack(
        secret_key,
        "widget-resume",
        "r1",
        [inbox_id, address, int(time.time()) + RESUME_TTL_SECONDS],
    )


def read_resume_token(secret_key: str, token: str) -> tuple[int, str] | None:
    raw = _unpack(secret_key, "widget-resume", "r1", token)
    if raw is None:
        return None
    try:
        inbox_id, address, expires = msgspec.json.decode(raw, type=tuple[int, str, int])
    except msgspec.ValidationError:
        return None
    return (inbox_id, address) if expires > time.time() else None


def identity_hash(identity_secret: str, identifier: str, email: str | None = None) -> str:
    """hex HMAC-SHA256(inbox identity secret, message): what the embedding site computes.

    The message is the identifier alone, or `identifier + "\n" + email` when the site vouches for
    the email too. Identifiers cannot contain control characters (`valid_identifier`), so the
    two forms never sign the same bytes.
    """
    message = identifier if email is None else f"{identifier}\n{email}"
    return hmac.new(identity_secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def valid_identifier(identifier: str) -> bool:
    return not any(ord(ch) < 32 or ord(ch) == 127 for ch in identifier)


class IdentityProof(msgspec.Struct, frozen=True):
    identifier: bool  # the hash covers the identifier
    email: bool  # ... and the email, as sent


def check_identity(
    identity_secret: str, identifier: str, given: str, email: str | None = None
) -> IdentityProof:
    """Which of (identifier, email) the site's hash vouches for.

    Only a hash over both makes the email trustworthy: a hash over the identifier alone proves who
    the user is on the site, not that the email they send is theirs.
    """
    given = given.strip().lower()
    if not identity_secret or not given or not valid_identifier(identifier):
        return IdentityProof(False, False)
    if email is not None and constant_time_equal(
        given, identity_hash(identity_secret, identifier, email)
    ):
        return IdentityProof(True, True)
    if constant_time_equal(given, identity_hash(identity_secret, identifier)):
        return IdentityProof(True, False)
    return IdentityProof(False, False)
