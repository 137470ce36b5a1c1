"""The settings of a web chat inbox: who may embed it, how it looks, when the team is in.

Stored (encrypted) as the inbox's config; `validate` checks an admin's input and fills defaults,
and `parse` reads the stored dict back into a typed struct.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from adapters.webchat.hours import Hours
from adapters.webchat.hours import validate as validate_hours

LANGUAGES = ("en", "de", "fr", "es", "da")
DEFAULT_ATTACHMENT_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
)
DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WebchatSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    # Sites that may embed the widget, as origins ("https://www.example.com"); "*" allows any,
    # "https://*.example.com" any subdomain. Empty: only the hub's own pages.
    allowed_origins: list[str] = []
    identity_secret: str = ""  # HMAC key for identifier_hash; write-only, generated when unset
    require_identity: bool = False
    title: str = ""
    greeting: str = ""
    colour: str = "#2563eb"
    position: Literal["right", "left"] = "right"
    language: str = "en"
    pre_chat_form: Literal["off", "optional", "required"] = "off"
    hours: Hours | None = None
    offline_message: str = ""
    # The email inbox that emails replies to visitors who left (its SMTP settings are used).
    email_inbox_id: int | None = None
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
    attachment_types: list[str] = msgspec.field(
        default_factory=lambda: list(DEFAULT_ATTACHMENT_TYPES)
    )


def normalise_origin(value: str) -> str:
    """`scheme://host[:port]` lower-cased, default port dropped; raises ValueError otherwise."""
    text = value.strip().rstrip("/")
    if text == "*":
        return text
    parts = urlsplit(text)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(
            f"allowed_origins: {value!r} is not an origin like https://www.example.com"
        )
    if parts.path or parts.query or parts.fragment or parts.username:
        raise ValueError(f"allowed_origins: {value!r} must not have a path (only scheme and host)")
    host = parts.hostname.lower()
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"allowed_origins: {value!r} has an invalid port") from None
    if "*" in host and not (host.startswith("*.") and "*" not in host[2:]):
        raise ValueError(f"allowed_origins: {value!r}: a wildcard may only lead (https://*.site)")
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def origin_matches(origin: str, allowed: list[str] | frozenset[str]) -> bool:
    """Whether a browser's Origin header is one of the allowed origins (wildcards included)."""
    try:
        wanted = normalise_origin(origin)
    except ValueError:
        return False  # "null" (sandboxed frames, file://) and garbage never match
    for entry in allowed:
        if entry == "*" or entry == wanted:
            return True
        if "://*." in entry:
            scheme, rest = entry.split("://*.", 1)
            suffix_host, _, port = rest.partition(":")
            got = urlsplit(wanted)
            got_port = str(got.port) if got.port else ""
            if (
                got.scheme == scheme
                and (got.hostname or "").endswith("." + suffix_host)
                and got_port == port
            ):
                return True
    return False


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Check an admin's settings and complete them; raises ValueError with one sentence."""
    raw = dict(config)
    if "color" in raw and "colour" not in raw:
        raw["colour"] = raw.pop("color")
    try:
        settings = msgspec.convert(raw, WebchatSettings)
    except msgspec.ValidationError as exc:
        raise ValueError(f"webchat settings: {exc}") from None
    origins = sorted({normalise_origin(o) for o in settings.allowed_origins})
    if not _COLOUR.match(settings.colour):
        raise ValueError("colour must be a hex colour like #2563eb")
    if settings.language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    for name, limit in (("title", 100), ("greeting", 1000), ("offline_message", 1000)):
        if len(getattr(settings, name)) > limit:
            raise ValueError(f"{name} is at most {limit} characters")
    if settings.hours is not None:
        validate_hours(settings.hours)
    if not 0 < settings.max_attachment_bytes <= 100 * 1024 * 1024:
        raise ValueError("max_attachment_bytes must be between 1 byte and 100 MB")
    types = sorted({t.strip().lower() for t in settings.attachment_types if t.strip()})
    if any("/" not in t for t in types):
        raise ValueError("attachment_types are MIME types such as image/png (or image/*)")
    cleaned = msgspec.structs.replace(
        settings,
        allowed_origins=origins,
        attachment_types=types,
        # Generated when unset, like every channel secret: shown once to the admin at creation.
        identity_secret=settings.identity_secret or secrets.token_urlsafe(32),
    )
    result: dict[str, Any] = msgspec.to_builtins(cleaned)
    return result


def parse(config: dict[str, Any]) -> WebchatSettings:
    """Stored settings back as a struct; keys this version does not know are ignored."""
    known = {k: v for k, v in config.items() if k in WebchatSettings.__struct_fields__}
    return msgspec.convert(known, WebchatSettings)


def type_allowed(content_type: str, allowed: list[str]) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return any(kind == t or (t.endswith("/*") and kind.startswith(t[:-1])) for t in allowed)
