"""Email digests for agents who are away or offline: one mail per agent per N minutes at most.

A notification is marked for email (`email_status = 'pending'`) when it is created for an agent
who wants that kind by email and is not reachable (no open socket, or availability `away`). A
digest is due once the agent's oldest pending notification is N minutes old
(`HUB_NOTIFY_EMAIL_MINUTES`): everything pending then goes in one mail, and what comes after
waits its own N minutes, so mails are at least N minutes apart and never one per event.
Notifications read in the meantime, or pending for an agent who is back, are skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import msgspec

from hub.db.engine import connection_pool
from hub.notifications import contract, presence, store
from hub.system import clock

log = logging.getLogger(__name__)

MAX_ITEMS = 50  # a digest lists the newest ones; the bell has them all


def smtp_settings() -> dict[str, Any] | None:
    from hub.system.services import current

    s = current().settings
    if not s.smtp_host or not s.smtp_from:
        return None
    return {
        "host": s.smtp_host,
        "port": s.smtp_port,
        "security": s.smtp_security,
        "username": s.smtp_username,
        "password": s.smtp_password,
        "from": s.smtp_from,
        "public_url": s.public_url.rstrip("/"),
    }


async def send_due() -> dict[str, int]:
    """Send every digest that is due; returns counts (sent, skipped notifications, failed)."""
    from hub.system.services import current

    counts = {"sent": 0, "skipped": 0, "failed": 0}
    smtp = smtp_settings()
    if smtp is None:
        return counts  # no hub SMTP configured: in-app only
    minutes = current().settings.notify_email_minutes
    due_before = clock.now() - dt.timedelta(minutes=minutes)
    pool = connection_pool()
    agents = await pool.fetch(
        "SELECT agent FROM notification WHERE email_status = 'pending'"
        " GROUP BY agent HAVING min(created_at) <= $1",
        due_before,
    )
    for row in agents:
        try:
            sent, skipped = await _digest(row["agent"], smtp)
        except Exception:
            # One agent's mail failing must not hold up the others; theirs stays pending and
            # the next run tries again.
            log.exception("notification digest for agent %d failed", row["agent"])
            counts["failed"] += 1
            continue
        counts["sent"] += sent
        counts["skipped"] += skipped
    return counts


async def _digest(agent_id: int, smtp: dict[str, Any]) -> tuple[int, int]:
    async with connection_pool().acquire() as conn, conn.transaction():
        # The agent's digest row is the lock: two workers never mail the same batch twice.
        await conn.execute(
            "INSERT INTO notification_digest (agent, sent_at) VALUES ($1, 'epoch')"
            " ON CONFLICT DO NOTHING",
            agent_id,
        )
        locked = await conn.fetchval(
            "SELECT agent FROM notification_digest WHERE agent = $1 FOR UPDATE SKIP LOCKED",
            agent_id,
        )
        if locked is None:
            return 0, 0
        agent = await conn.fetchrow("SELECT email, name, active FROM agent WHERE id = $1", agent_id)
        pending = msgspec.json.decode(
            await conn.fetchval(
                "SELECT coalesce(jsonb_agg(" + store.NOTIFICATION_JSON + " ORDER BY n.id DESC),"
                " '[]'::jsonb) FROM (SELECT * FROM notification WHERE agent = $1"
                " AND email_status = 'pending' ORDER BY id DESC FOR UPDATE) n",
                agent_id,
            )
        )
        back = agent_id in await presence.reachable(conn, [agent_id])
        unread = [n for n in pending if n["read_at"] is None]
        if back or not agent["active"] or not unread:
            await _mark(conn, [n["id"] for n in pending], "skipped")
            return 0, len(pending)
        await contract.mailer().send_digest(smtp, agent["email"], agent["name"], unread[:MAX_ITEMS])
        await _mark(conn, [n["id"] for n in unread], "sent")
        await _mark(conn, [n["id"] for n in pending if n["read_at"] is not None], "skipped")
        await conn.execute(
            "UPDATE notification_digest SET sent_at = now() WHERE agent = $1", agent_id
        )
        return 1, len(pending) - len(unread)


async def _mark(conn: Any, ids: list[int], status: str) -> None:
    if ids:
        await conn.execute(
            "UPDATE notification SET email_status = $2 WHERE id = ANY($1::bigint[])", ids, status
        )
