"""Slack as a notification channel: which events go where, and delivery with threads and retries.

The `slack` event subscriber turns events into `slack_post` rows (one per event:
a redelivered batch adds nothing). `deliver()` (a cron job, and a nudge after each batch) posts
them in id order under one advisory lock, so a conversation's first post opens its thread
(`slack_thread.thread_ts`) before any later one replies in it. A post waits while an older one of
the same thread is still pending. Failures never reach the hub's own work: a 429 pauses every
post until its Retry-After has passed, temporary errors back off, permanent ones are logged and
the post marked failed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any, Literal

import msgspec

from hub.db.engine import connection_pool
from hub.notifications import contract
from hub.notifications.contract import SlackError, SlackRateLimited
from hub.realtime.events import Event
from hub.system import clock
from hub.system.crypto import decrypt_json, encrypt_json

log = logging.getLogger(__name__)

SUBSCRIBER = "slack"
EVENT_TYPES = ("conversation.created", "conversation.updated", "message.created", "sla.warning", "sla.breached")  # fmt: skip
KINDS = ("conversation_created", "message", "assigned", "sla_warning", "sla_breached")
DEFAULT_KINDS = ("conversation_created", "assigned", "sla_warning", "sla_breached")
MAX_ATTEMPTS = 8
_LOCK = 4851790  # one delivery run at a time across workers


class Route(msgspec.Struct, frozen=True):
    team_id: int
    channel: str


class SlackConfig(msgspec.Struct, kw_only=True):
    """The Slack integration's settings. Either `bot_token` (threads) or `webhook_url`."""

    enabled: bool = True
    bot_token: str = ""
    webhook_url: str = ""
    api_base_url: str = "https://slack.com/api"
    default_channel: str = ""
    routes: list[Route] = []
    mention_channel_on_breach: bool = True
    kinds: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_KINDS))


class InvalidSlackConfig(ValueError):
    pass


def check(config: SlackConfig) -> None:
    if not config.bot_token and not config.webhook_url:
        raise InvalidSlackConfig("give a bot_token (xoxb-…) or an incoming webhook_url")
    if config.bot_token and not (config.default_channel or config.routes):
        raise InvalidSlackConfig("with a bot token, name a default_channel or routes")
    unknown = sorted(set(config.kinds) - set(KINDS))
    if unknown:
        raise InvalidSlackConfig(f"unknown kinds {', '.join(unknown)}; known: {', '.join(KINDS)}")


async def load_config(secret_key: str) -> SlackConfig | None:
    token = await connection_pool().fetchval(
        "SELECT config_encrypted FROM slack_integration WHERE id = 1"
    )
    if token is None:
        return None
    return msgspec.convert(decrypt_json(secret_key, token), SlackConfig)


async def save_config(secret_key: str, config: SlackConfig) -> None:
    check(config)
    await connection_pool().execute(
        "INSERT INTO slack_integration (id, config_encrypted) VALUES (1, $1) ON CONFLICT (id)"
        " DO UPDATE SET config_encrypted = excluded.config_encrypted, updated_at = now()",
        encrypt_json(secret_key, msgspec.to_builtins(config)),
    )


def _kind(event: Event) -> str | None:
    data = event.data
    if event.type == "conversation.created":
        return "conversation_created"
    if event.type == "conversation.updated":
        changed = data.get("changed") or {}
        return "assigned" if isinstance(changed, dict) and changed.get("assignee") else None
    if event.type == "message.created":
        inbound = data.get("kind") == "message" and data.get("direction") == "in"
        return "message" if inbound else None
    return {"sla.warning": "sla_warning", "sla.breached": "sla_breached"}.get(event.type)


def channel_for(config: SlackConfig, team: int | None) -> str:
    """The route of the conversation's team, else the default channel ('' with a webhook: the
    webhook's own channel)."""
    for route in config.routes:
        if route.team_id == team:
            return route.channel
    return config.default_channel


async def handle(batch: Sequence[Event]) -> None:
    """The `slack` subscriber: queue a post per wanted event."""
    from hub.system.services import current

    config = await load_config(current().settings.secret_key)
    if config is None or not config.enabled:
        return
    wanted = [(e, k) for e in batch if e.conversation_id and (k := _kind(e)) in config.kinds]
    if not wanted:
        return
    pool = connection_pool()
    rows = await pool.fetch(
        "SELECT c.id, c.ref, c.subject, c.priority, c.team, c.assignee, ct.name AS customer,"
        " a.name AS assignee_name FROM conversation c JOIN contact ct ON ct.id = c.contact"
        " LEFT JOIN agent a ON a.id = c.assignee WHERE c.id = ANY($1::int[])",
        sorted({e.conversation_id for e, _ in wanted if e.conversation_id is not None}),
    )
    conversations = {r["id"]: r for r in rows}
    posts: list[tuple[int, int, str, str, str]] = []
    for event, kind in wanted:
        conv = conversations.get(event.conversation_id or 0)
        if conv is None:
            continue
        note = _note(event, kind, conv, config)
        channel = channel_for(config, conv["team"])
        posts.append((event.id, conv["id"], channel, kind, msgspec.json.encode(note).decode()))
    if posts:
        await pool.execute(
            "INSERT INTO slack_post (event, conversation, channel, kind, data)"
            " SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::jsonb[])"
            " ON CONFLICT ON CONSTRAINT slack_post_once DO NOTHING",
            *(list(column) for column in zip(*posts, strict=True)),
        )
        await _nudge()


def _note(event: Event, kind: str, conv: Any, config: SlackConfig) -> dict[str, Any]:
    from hub.system.services import current

    ref = conv["ref"]
    data = event.data
    target = str(data.get("target") or "").replace("_", " ")
    titles = {
        "conversation_created": f"New conversation #{ref}",
        "message": f"New customer message in #{ref}",
        "assigned": f"#{ref} assigned to {conv['assignee_name'] or 'nobody'}",
        "sla_warning": f"SLA at risk on #{ref}: {target}",
        "sla_breached": f"SLA breached on #{ref}: {target}",
    }
    body = data.get("text") if kind == "message" else ""
    return {
        "kind": kind,
        "title": titles[kind],
        "ref": ref,
        "subject": conv["subject"] or "",
        "customer": conv["customer"] or "",
        "priority": conv["priority"],
        "body": str(body or "")[:500],
        "url": f"{current().settings.public_url.rstrip('/')}/inbox/conversations/{conv['id']}",
        "mention_channel": kind == "sla_breached" and config.mention_channel_on_breach,
    }


async def _nudge() -> None:
    """Deliver soon rather than at the next cron tick; the cron catches up if this is lost."""
    from hub.jobs.registry import enqueue
    from hub.system.services import current

    try:
        await enqueue(current().queue, "slack_deliver")
    except Exception:
        log.exception("could not enqueue slack_deliver; the cron job will deliver")


Outcome = Literal["sent", "retry", "failed", "paused"]


async def deliver(*, limit: int = 200) -> dict[str, int]:
    """Post what is due, oldest first; returns counts per outcome."""
    from hub.system.services import current

    counts: dict[str, int] = {"sent": 0, "retry": 0, "failed": 0, "paused": 0}
    pool = connection_pool()
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK):
            return counts  # another worker is delivering right now
        try:
            config = await load_config(current().settings.secret_key)
            if config is None or not config.enabled:
                return counts
            now = clock.now()
            sender = contract.slack()
            done = 0
            while done < limit:
                # The oldest pending post of each thread, if due: a thread's later posts wait, so
                # each round takes the next post of every thread.
                due = await conn.fetch(
                    "SELECT p.* FROM slack_post p WHERE p.status = 'pending'"
                    " AND p.next_attempt_at <= $1 AND NOT EXISTS (SELECT 1 FROM slack_post o"
                    " WHERE o.status = 'pending' AND o.conversation = p.conversation"
                    " AND o.channel = p.channel AND o.id < p.id) ORDER BY p.id LIMIT $2",
                    now,
                    limit - done,
                )
                if not due:
                    break
                progressed = False
                for post in due:
                    outcome = await _post(conn, sender, config, post, now)
                    counts[outcome] += 1
                    done += 1
                    if outcome == "paused":
                        return counts  # Slack asked us to wait: nothing more this run
                    progressed = progressed or outcome in ("sent", "failed")
                if not progressed:
                    break  # only retries left, each waiting for its next attempt
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK)
    return counts


async def _post(
    conn: Any, sender: contract.Slack, config: SlackConfig, post: Any, now: dt.datetime
) -> Outcome:
    thread = await conn.fetchval(
        "SELECT thread_ts FROM slack_thread WHERE conversation = $1 AND channel = $2",
        post["conversation"],
        post["channel"],
    )
    note = msgspec.json.decode(post["data"]) if isinstance(post["data"], str) else post["data"]
    attempts = post["attempts"] + 1
    try:
        ts = await sender.post(msgspec.to_builtins(config), post["channel"], note, thread)
    except SlackRateLimited as exc:
        log.warning("Slack rate limit on post %d: waiting %d s", post["id"], exc.retry_after)
        await conn.execute(
            "UPDATE slack_post SET next_attempt_at = $1, error = $2 WHERE status = 'pending'"
            " AND next_attempt_at < $1",
            now + dt.timedelta(seconds=exc.retry_after),
            str(exc),
        )
        return "paused"
    except SlackError as exc:
        if exc.temporary and attempts < MAX_ATTEMPTS:
            delay = min(600, 2**attempts)
            log.warning("Slack post %d failed (%s); retrying in %d s", post["id"], exc, delay)
            await conn.execute(
                "UPDATE slack_post SET attempts = $2, next_attempt_at = $3, error = $4 WHERE id = $1",
                post["id"],
                attempts,
                now + dt.timedelta(seconds=delay),
                str(exc),
            )
            return "retry"
        log.error("Slack post %d failed for good: %s", post["id"], exc)
        await conn.execute(
            "UPDATE slack_post SET status = 'failed', attempts = $2, error = $3 WHERE id = $1",
            post["id"],
            attempts,
            str(exc),
        )
        return "failed"
    async with conn.transaction():
        if ts and thread is None:
            await conn.execute(
                "INSERT INTO slack_thread (conversation, channel, thread_ts) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                post["conversation"],
                post["channel"],
                ts,
            )
        await conn.execute(
            "UPDATE slack_post SET status = 'sent', attempts = $2, ts = $3, sent_at = now(),"
            " error = '' WHERE id = $1",
            post["id"],
            attempts,
            ts,
        )
    return "sent"
