"""Encryption of channel secrets at rest and signing of tokens, both keyed by the instance secret.

Every use derives its own key from the secret (HMAC with a purpose name), and encrypted values
name the secret's key id, so the secret can be rotated: the old one stays readable from
HUB_PREVIOUS_SECRET_KEYS while `hub rotate-secret` re-encrypts what is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import msgspec
from cryptography.fernet import Fernet, InvalidToken


class SecretKeyMismatch(Exception):
    """Stored secrets cannot be decrypted: the instance secret changed."""


# Keys that signed tokens and encrypted settings before the last rotation (HUB_PREVIOUS_SECRET_KEYS):
# accepted for reading, never used for writing. Set once per process by `use_previous_keys`.
_previous: tuple[str, ...] = ()

ENCRYPTED_PREFIX = "k1:"  # k1:<key id>:<Fernet token>


def use_previous_keys(keys: tuple[str, ...]) -> None:
    global _previous
    _previous = tuple(keys)


def reading_keys(secret_key: str) -> tuple[str, ...]:
    """The secrets a token or value may have been made with: the current one first."""
    return _keys(secret_key)


def _keys(secret_key: str) -> tuple[str, ...]:
    return (secret_key, *(k for k in _previous if k != secret_key))


def _derive(secret_key: str, purpose: str) -> bytes:
    return hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).digest()


def key_id(secret_key: str) -> str:
    """A short public name of an instance secret, stored with what it encrypted (not a secret:
    it is derived for this purpose only)."""
    return _derive(secret_key, "hub.key-id").hex()[:8]


def _fernet(secret_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(secret_key, "hub.channel-config.v1")))


def encrypt_json(secret_key: str, value: dict[str, Any]) -> str:
    token = _fernet(secret_key).encrypt(msgspec.json.encode(value)).decode()
    return f"{ENCRYPTED_PREFIX}{key_id(secret_key)}:{token}"


def encrypted_with(token: str) -> str | None:
    """The key id a stored value names (None for values from before key ids)."""
    if not token.startswith(ENCRYPTED_PREFIX):
        return None
    return token[len(ENCRYPTED_PREFIX) :].partition(":")[0]


def decrypt_json(secret_key: str, token: str) -> dict[str, Any]:
    """Decrypt with the key the value names, among the current and previous secrets."""
    if not token:
        return {}
    kid = encrypted_with(token)
    body = token[len(ENCRYPTED_PREFIX) :].partition(":")[2] if kid is not None else token
    candidates = [k for k in _keys(secret_key) if kid is None or key_id(k) == kid]
    for candidate in candidates:
        try:
            data = _fernet(candidate).decrypt(body.encode())
        except InvalidToken:
            continue
        result: dict[str, Any] = msgspec.json.decode(data)
        return result
    named = f" (it was encrypted with key id {kid})" if kid else ""
    raise ValueError(
        f"channel configuration cannot be decrypted with this HUB_SECRET_KEY{named}; after a"
        " rotation, list the old key in HUB_PREVIOUS_SECRET_KEYS and run `hub rotate-secret`"
    )


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def sign(secret_key: str, purpose: str, message: bytes) -> str:
    return hmac.new(_derive(secret_key, purpose), message, hashlib.sha256).hexdigest()


def verify(secret_key: str, purpose: str, message: bytes, mac: str) -> bool:
    """A MAC made by `sign` with the current secret or one of the previous ones (a rotation does
    not void every token in flight)."""
    return any(constant_time_equal(mac, sign(key, purpose, message)) for key in _keys(secret_key))


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
