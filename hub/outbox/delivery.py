"""Delivery updates from the providers (sent → delivered → read, or failed), applied in order, never backwards."""

from __future__ import annotations

import asyncio

from hub.channels.contract import (
    DeliveryStatus,
    DeliveryUpdate,
)
from hub.db.engine import connection_pool
from hub.outbox.dispatch import set_status
from hub.realtime import events

_RANK = {"pending": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4}


async def apply_delivery(update: DeliveryUpdate) -> bool:
    """Move a sent message forward (sent → delivered → read); never backwards. True if it changed."""
    async with connection_pool().acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT id, status FROM message WHERE inbox = $1 AND provider_message_id = $2 FOR UPDATE",
            update.inbox_id,
            update.provider_message_id,
        )
        if row is None:
            return False
        current_status = row["status"]
        if update.status == DeliveryStatus.FAILED:
            if current_status in ("delivered", "read", "failed"):
                return False
            reason = update.error or "the provider reported a failure"
            if update.error_code:
                reason = f"{reason} (code {update.error_code})"
            emitted = await set_status(conn, row["id"], "failed", error=reason)
        else:
            if _RANK.get(update.status, -1) <= _RANK.get(current_status, 99):
                return False
            emitted = await set_status(conn, row["id"], str(update.status))
    await events.publish(emitted)
    return True


async def wait_for_status(message_id: int, statuses: set[str], timeout: float = 10.0) -> str:
    """Poll a message's status (for tools and tests)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        status = await connection_pool().fetchval(
            "SELECT status FROM message WHERE id = $1", message_id
        )
        if status in statuses or loop.time() > deadline:
            return str(status)
        await asyncio.sleep(0.05)
