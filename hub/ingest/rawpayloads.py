"""Inbound payloads the hub could not process, kept verbatim so nothing is silently lost."""

from __future__ import annotations

import logging

import msgspec

from hub.db.engine import connection_pool

log = logging.getLogger(__name__)

_KEPT_HEADERS = ("content-type", "user-agent", "x-request-id")


async def keep(
    *, inbox_id: int | None, channel: str, headers: dict[str, str], body: bytes, error: str
) -> int:
    """Store a payload that failed to parse or ingest; returns its id (shown in the error answer)."""
    pool = connection_pool()
    kept = {k: v for k, v in headers.items() if k in _KEPT_HEADERS}
    payload_id = await pool.fetchval(
        "INSERT INTO raw_payload (inbox, channel, headers, body, error, received_at)"
        " VALUES ($1, $2, $3::jsonb, $4, $5, now()) RETURNING id",
        inbox_id,
        channel,
        msgspec.json.encode(kept).decode(),
        body,
        error[:2000],
    )
    log.warning(
        "kept unprocessable %s payload %s for inbox %s: %s", channel, payload_id, inbox_id, error
    )
    return int(payload_id)


async def keep_once(
    *, inbox_id: int | None, channel: str, headers: dict[str, str], body: bytes, error: str
) -> int:
    """`keep`, unless the same payload was already kept for the same reason (a mailbox read
    again after a crash offers the same message twice; it is kept once)."""
    existing = await connection_pool().fetchval(
        "SELECT id FROM raw_payload WHERE inbox IS NOT DISTINCT FROM $1 AND channel = $2"
        " AND error = $3 AND body = $4 LIMIT 1",
        inbox_id,
        channel,
        error[:2000],
        body,
    )
    if existing is not None:
        return int(existing)
    return await keep(inbox_id=inbox_id, channel=channel, headers=headers, body=body, error=error)
