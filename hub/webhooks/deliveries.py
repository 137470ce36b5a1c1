"""Webhook deliveries: one row per (subscription, event), fed by the `webhooks` event subscriber
or by `publish()` (automation's "send a webhook" action, the test event), sent by the
`webhook_deliver` job (hub.webhooks.sender).

Rows are the delivery log: status, attempts, the last response's code, a body excerpt and the
latency. A redelivery is a new row (`redelivery_of`) carrying the original's payload; its
`Idempotency-Key` is the original's, so a receiver that deduplicates sees it once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from hub.auth.access import NotFound
from hub.db.engine import connection_pool
from hub.realtime.events import Event

log = logging.getLogger(__name__)

SUBSCRIBER = "webhooks"

_INSERT = (
    "INSERT INTO webhook_delivery (subscription, event, event_type, payload, test)"
    " SELECT * FROM unnest($1::int[], $2::bigint[], $3::text[], $4::jsonb[], $5::bool[])"
    " ON CONFLICT ON CONSTRAINT webhook_delivery_once DO NOTHING RETURNING id, attempts"
)


async def _insert(conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]]) -> list[int]:
    if not rows:
        return []
    created = await conn.fetch(_INSERT, *(list(column) for column in zip(*rows, strict=True)))
    ids = [int(r["id"]) for r in created]
    if ids and not conn.is_in_transaction():
        await enqueue(ids)
    # Inside the caller's transaction the rows are not visible to a worker yet: the sweep
    # (every few seconds) sends them once committed.
    return ids


async def publish(
    conn: asyncpg.Connection,
    event_type: str,
    payload: dict[str, Any],
    *,
    subscription_id: int | None = None,
) -> int:
    """Queue a delivery of `payload` as `event_type` to every enabled subscription to that type,
    or to the one subscription named (whatever types it lists); returns how many were queued.

    Called outside a transaction the deliveries are enqueued at once; inside one, the
    `webhook_sweep` cron sends them within seconds of the commit."""
    data = msgspec.json.encode(payload).decode()
    subscriptions = await conn.fetch(
        "SELECT id FROM webhook_subscription WHERE enabled"
        " AND (CASE WHEN $2::int IS NULL THEN $1 = ANY(event_types) ELSE id = $2 END)"
        " ORDER BY id",
        event_type,
        subscription_id,
    )
    rows = [(s["id"], None, event_type, data, False) for s in subscriptions]
    return len(await _insert(conn, rows))


async def send_test(subscription_id: int) -> dict[str, Any]:
    """A `webhook.test` delivery, sent even while the subscription is disabled (to check an
    endpoint before enabling it again); its outcome does not count towards disabling."""
    pool = connection_pool()
    async with pool.acquire() as conn:
        exists = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM webhook_subscription WHERE id = $1)", subscription_id
        )
        if not exists:
            raise NotFound(f"no webhook subscription {subscription_id}")
        payload = {"message": "A test event from Hub: your endpoint is reachable."}
        ids = await _insert(
            conn,
            [(subscription_id, None, "webhook.test", msgspec.json.encode(payload).decode(), True)],
        )
    return await get(subscription_id, ids[0])


async def handle(batch: Sequence[Event]) -> None:
    """The `webhooks` subscriber: a delivery per (enabled subscription, matching event)."""
    pool = connection_pool()
    subscriptions = await pool.fetch(
        "SELECT id, event_types FROM webhook_subscription WHERE enabled ORDER BY id"
    )
    if not subscriptions:
        return
    rows: list[tuple[Any, ...]] = []
    for event in batch:
        data: dict[str, Any] = {
            "conversation_id": event.conversation_id,
            "inbox_id": event.inbox_id,
            **event.data,
        }
        encoded = msgspec.json.encode(data).decode()
        for sub in subscriptions:
            if event.type in sub["event_types"]:
                rows.append((sub["id"], event.id, event.type, encoded, False))
    async with pool.acquire() as conn:
        await _insert(conn, rows)


async def enqueue(delivery_ids: Sequence[int], attempts: int = 0, *, at: float = 0.0) -> None:
    """Queue `webhook_deliver` for each; the key (id and attempt) makes a second enqueue of the
    same attempt a no-op."""
    for delivery_id in delivery_ids:
        await enqueue_keyed(delivery_id, f"webhook:{delivery_id}:{attempts}", at=at)


async def enqueue_keyed(delivery_id: int, key: str, *, at: float = 0.0) -> None:
    from hub.jobs.registry import enqueue as enqueue_job
    from hub.system.services import current

    extra = {"scheduled": int(at)} if at else {}
    try:
        await enqueue_job(
            current().queue, "webhook_deliver", key=key, delivery_id=delivery_id, **extra
        )
    except Exception:
        log.exception("could not enqueue webhook delivery %s; the sweep sends it", delivery_id)


DELIVERY_JSON = (
    "id, subscription AS subscription_id, event AS event_id, event_type, test, redelivery_of,"
    " status, attempts, next_attempt_at, response_code, response_body, latency_ms, error,"
    " created_at, updated_at, delivered_at"
)


async def list_for(
    subscription_id: int, *, before: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """A subscription's delivery log, newest first (pages by `before`, a delivery id)."""
    rows = await connection_pool().fetch(
        f"SELECT {DELIVERY_JSON}, payload::text AS payload FROM webhook_delivery"
        " WHERE subscription = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        subscription_id,
        before,
        limit,
    )
    return [_view(r) for r in rows]


def _view(row: asyncpg.Record) -> dict[str, Any]:
    data = dict(row)
    data["payload"] = msgspec.json.decode(data["payload"])
    return data


async def get(subscription_id: int, delivery_id: int) -> dict[str, Any]:
    row = await connection_pool().fetchrow(
        f"SELECT {DELIVERY_JSON}, payload::text AS payload FROM webhook_delivery"
        " WHERE id = $1 AND subscription = $2",
        delivery_id,
        subscription_id,
    )
    if row is None:
        raise NotFound(f"no delivery {delivery_id} of subscription {subscription_id}")
    return _view(row)


async def redeliver(subscription_id: int, delivery_id: int) -> dict[str, Any]:
    """Send a delivery's payload again, as a new row of the log. While a redelivery of it is
    still pending or being sent, asking again returns that one instead of queueing another."""
    pool = connection_pool()
    async with pool.acquire() as conn:
        async with conn.transaction():
            original = await conn.fetchrow(
                "SELECT id, coalesce(redelivery_of, id) AS root, event_type, payload::text AS"
                " payload, test FROM webhook_delivery WHERE id = $1 AND subscription = $2"
                " FOR UPDATE",
                delivery_id,
                subscription_id,
            )
            if original is None:
                raise NotFound(f"no delivery {delivery_id} of subscription {subscription_id}")
            # Lock the root too, so two redeliveries of two rows of one chain serialise.
            await conn.execute(
                "SELECT 1 FROM webhook_delivery WHERE id = $1 FOR UPDATE", original["root"]
            )
            waiting = await conn.fetchval(
                "SELECT id FROM webhook_delivery WHERE (id = $1 OR redelivery_of = $1)"
                " AND status IN ('pending', 'sending') ORDER BY id DESC LIMIT 1",
                original["root"],
            )
            if waiting is None:
                waiting = await conn.fetchval(
                    "INSERT INTO webhook_delivery (subscription, event_type, payload, test,"
                    " redelivery_of) VALUES ($1, $2, $3::jsonb, $4, $5) RETURNING id",
                    subscription_id,
                    original["event_type"],
                    original["payload"],
                    original["test"],
                    original["root"],
                )
        await enqueue([int(waiting)])
    return await get(subscription_id, int(waiting))
