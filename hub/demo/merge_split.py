"""The demo's merged pair and split conversation, made through the same functions as the API."""

from __future__ import annotations

from hub.auth.accounts import AgentInfo
from hub.conversations import merge, split
from hub.db.engine import connection_pool


async def merge_and_split(*, first: int, second: int, chatty: int, admin: AgentInfo) -> None:
    """Merge `second` into `first` (one customer, one problem), and split `chatty` where its
    customer changes the subject."""
    await merge.merge(first, [second], actor=admin)
    moving = await connection_pool().fetchval(
        "SELECT id FROM message WHERE conversation = $1 AND text LIKE 'Another thing:%'", chatty
    )
    if moving is not None:
        await split.split(chatty, message_id=int(moving), actor=admin)
