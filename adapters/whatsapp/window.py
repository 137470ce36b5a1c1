"""WhatsApp's 24-hour customer service window, checked again right before a free-form send.

The hub refuses a free-text reply outside the window when it is written; this second check
covers a reply that waited (retries, a stopped worker) until the window closed, so the agent sees
why instead of the provider's later 63016 / 131047.
"""

from __future__ import annotations

import datetime as dt

from adapters.whatsapp.errors import WINDOW_REASON
from hub.channels.contract import PermanentSendError
from hub.conversations.listing import get_conversation

HOURS = 24


def closes_at(last_inbound_at: dt.datetime | None, hours: int = HOURS) -> dt.datetime | None:
    return last_inbound_at + dt.timedelta(hours=hours) if last_inbound_at else None


def check(
    last_inbound_at: dt.datetime | None, *, hours: int = HOURS, now: dt.datetime | None = None
) -> None:
    """Raise PermanentSendError unless a free-form message may be sent now."""
    closes = closes_at(last_inbound_at, hours)
    now = now or dt.datetime.now(dt.UTC)
    if closes is None:
        raise PermanentSendError(
            f"{WINDOW_REASON} (the customer has not written in this conversation)",
            code="outside_window",
        )
    if now >= closes:
        raise PermanentSendError(
            f"{WINDOW_REASON} (the window closed at {closes.isoformat(timespec='minutes')})",
            code="outside_window",
        )


async def last_inbound_at(conversation_id: int) -> dt.datetime | None:
    """When the customer last wrote, from the hub's conversation record."""
    value = (await get_conversation(conversation_id)).get("last_inbound_at")
    return dt.datetime.fromisoformat(value) if value else None


async def ensure_open(conversation_id: int, hours: int = HOURS) -> None:
    check(await last_inbound_at(conversation_id), hours=hours)
