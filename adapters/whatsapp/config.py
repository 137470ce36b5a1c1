"""Checks shared by both providers' inbox settings (errors are sentences for the admin)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse


def required(config: dict[str, Any], key: str, what: str) -> str:
    value = str(config.get(key) or "").strip()
    if not value:
        raise ValueError(f"{key} is required: {what}")
    return value


def base_url(config: dict[str, Any], key: str, default: str) -> str:
    """A provider base URL (configurable so tests and gateways can stand in for the provider)."""
    value = str(config.get(key) or default).strip().rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{key} must be an http:// or https:// URL")
    return value


def optional_base_url(config: dict[str, Any], key: str) -> str:
    return base_url(config, key, "") if config.get(key) else ""


def e164(config: dict[str, Any], key: str) -> str:
    """A number in E.164 (`+` and 8 to 15 digits); a `whatsapp:` prefix is accepted and dropped."""
    raw = required(config, key, "the WhatsApp sender's number in E.164, e.g. +14155238886")
    value = raw.removeprefix("whatsapp:").replace(" ", "")
    if not re.fullmatch(r"\+[1-9][0-9]{7,14}", value):
        raise ValueError(f"{key} must be a number in E.164 format, e.g. +14155238886")
    return value


def origin(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    return parsed.scheme, parsed.netloc.lower()
