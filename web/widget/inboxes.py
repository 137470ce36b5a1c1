"""Web chat inboxes as the widget endpoints see them, cached briefly per process.

Every widget call needs its inbox's settings (allowed origins, identity secret); decrypting them
per request would cost more than the request. Changes take effect within `TTL` seconds.
"""

from __future__ import annotations

from typing import Any

import msgspec

from adapters.webchat.config import WebchatSettings, parse
from hub.system.crypto import decrypt_json
from hub.system.services import current
from hub.system.ttlcache import TtlCache
from hub.visitors import presence

TTL = 10.0


class WidgetInbox(msgspec.Struct, frozen=True):
    id: int
    name: str
    public_token: str
    settings: WebchatSettings


# By ("token", public token) and ("id", inbox id); unknown ones are cached too (as None).
_inboxes: TtlCache[tuple[str, str | int], WidgetInbox | None] = TtlCache(TTL, max_entries=10_000)
_origins: TtlCache[str, frozenset[str]] = TtlCache(TTL)


def _load(row: Any) -> WidgetInbox:
    config = decrypt_json(current().settings.secret_key, row["config_encrypted"])
    return WidgetInbox(row["id"], row["name"], row["public_token"], parse(config))


async def by_token(public_token: str) -> WidgetInbox | None:
    found, value = _inboxes.lookup(("token", public_token))
    if found:
        return value
    row = await presence.webchat_inbox(public_token=public_token)
    return _inboxes.put(("token", public_token), _load(row) if row else None)


async def by_id(inbox_id: int) -> WidgetInbox | None:
    found, value = _inboxes.lookup(("id", inbox_id))
    if found:
        return value
    row = await presence.webchat_inbox(inbox_id=inbox_id)
    return _inboxes.put(("id", inbox_id), _load(row) if row else None)


async def all_origins() -> frozenset[str]:
    """Every origin any web chat inbox allows (answers CORS preflights, which name no inbox)."""
    cached = _origins.get("origins")
    if cached is not None:
        return cached
    origins: set[str] = set()
    for row in await presence.webchat_inboxes():
        origins.update(_load(row).settings.allowed_origins)
    return _origins.put("origins", frozenset(origins))
