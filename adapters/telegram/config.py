"""A Telegram inbox's settings: checked and completed before anything is stored."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlparse

from adapters.telegram.api import DEFAULT_API_BASE_URL

MODES = ("webhook", "polling")
DEFAULT_POLL_TIMEOUT = 20  # seconds a getUpdates call waits; the poll job's timeout is 90 s
MAX_POLL_TIMEOUT = 30
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts as secret_token


def clean_config(config: dict[str, Any]) -> dict[str, Any]:
    """Normalise the settings; raise ValueError with a sentence for the admin."""
    cleaned = dict(config)
    token = str(cleaned.get("bot_token") or "").strip()
    if not token:
        raise ValueError("bot_token is required: the token BotFather gave you")
    if not _TOKEN.fullmatch(token):
        raise ValueError("bot_token must look like 123456789:AAH… (the token BotFather gave you)")
    cleaned["bot_token"] = token
    mode = cleaned.get("mode") or "webhook"
    if mode not in MODES:
        raise ValueError("mode must be webhook or polling")
    cleaned["mode"] = mode
    base = str(cleaned.get("api_base_url") or DEFAULT_API_BASE_URL).strip().rstrip("/")
    base = base.removesuffix("/bot")  # python-telegram-bot's base_url style is accepted too
    parsed = urlparse(base)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("api_base_url must be an http:// or https:// URL")
    cleaned["api_base_url"] = base
    allow_groups = cleaned.get("allow_groups", False)
    if not isinstance(allow_groups, bool):
        raise ValueError("allow_groups must be true or false")
    cleaned["allow_groups"] = allow_groups
    timeout = cleaned.get("poll_timeout", DEFAULT_POLL_TIMEOUT)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int)
        or not 0 <= timeout <= MAX_POLL_TIMEOUT
    ):
        raise ValueError(f"poll_timeout must be whole seconds from 0 to {MAX_POLL_TIMEOUT}")
    cleaned["poll_timeout"] = timeout
    secret = cleaned.get("webhook_secret")
    if secret is not None and not (isinstance(secret, str) and _SECRET.fullmatch(secret)):
        raise ValueError("webhook_secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    if mode == "webhook" and not secret:
        # Generated before the webhook exists, so it is stored before Telegram's first call.
        cleaned["webhook_secret"] = secrets.token_urlsafe(32)
    return cleaned
