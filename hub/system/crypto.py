"""Encryption of channel secrets at rest and signing of tokens, both keyed by the instance secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import msgspec
from cryptography.fernet import Fernet, InvalidToken


class SecretKeyMismatch(Exception):
    """Stored secrets cannot be decrypted: the instance secret changed."""


def _derive(secret_key: str, purpose: str) -> bytes:
    return hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).digest()


def _fernet(secret_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(secret_key, "hub.channel-config.v1")))


def encrypt_json(secret_key: str, value: dict[str, Any]) -> str:
    return _fernet(secret_key).encrypt(msgspec.json.encode(value)).decode()


def decrypt_json(secret_key: str, token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        data = _fernet(secret_key).decrypt(token.encode())
    except InvalidToken:
        raise ValueError(
            "channel configuration cannot be decrypted with this HUB_SECRET_KEY"
        ) from None
    result: dict[str, Any] = msgspec.json.decode(data)
    return result


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def sign(secret_key: str, purpose: str, message: bytes) -> str:
    return hmac.new(_derive(secret_key, purpose), message, hashlib.sha256).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
