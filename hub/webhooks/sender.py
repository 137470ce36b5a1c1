"""Sending one webhook delivery: sign, POST, record, retry with backoff, disable after failures.

The outbox's pattern (hub.outbox.dispatch): the job claims the row (`pending → sending`, one
winner), POSTs, and records the outcome on the row. A failed attempt puts the row back to
`pending` with `next_attempt_at` 2^n * HUB_WEBHOOK_RETRY_SECONDS later (capped at an hour) and
schedules the job for then; after HUB_WEBHOOK_MAX_ATTEMPTS attempts the delivery has `failed`.
The sweep re-enqueues rows whose job was lost (or whose worker died mid-send).

A subscription whose last HUB_WEBHOOK_DISABLE_AFTER deliveries all failed is disabled, its
admins notified in the hub (hub.notifications) and the change audited. Test events never count.

Signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, "<X-Hub-Timestamp>.<raw body>")>`;
the timestamp (Unix seconds of this attempt) is signed with the body, so a receiver that refuses
old timestamps cannot be replayed to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import time
from typing import Any

import httpx
import msgspec

from hub.db.engine import connection_pool
from hub.system import netguard
from hub.webhooks import deliveries, subscriptions

log = logging.getLogger(__name__)

MAX_BACKOFF = 3600
BODY_EXCERPT = 1000
STUCK_SENDING = dt.timedelta(seconds=120)  # beyond the job's timeout: the worker died
SWEEP_GRACE = dt.timedelta(seconds=2)  # a due row's own job normally runs within this


def sign(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def backoff(attempts: int, base: int) -> int:
    """Seconds before attempt `attempts + 1`: base, 2*base, 4*base, … up to an hour."""
    return int(min(MAX_BACKOFF, base * 2 ** max(0, attempts - 1)))


def envelope(row: Any) -> bytes:
    payload = msgspec.json.decode(row["payload"])
    return msgspec.json.encode(
        {
            "id": row["root"],
            "type": row["event_type"],
            "event_id": row["event"],
            "created_at": row["created_at"].isoformat(),
            "test": row["test"],
            "data": payload,
        }
    )


_CLAIM = (
    "UPDATE webhook_delivery d SET status = 'sending', attempts = d.attempts + 1, updated_at = now()"
    " FROM webhook_subscription s WHERE d.id = $1 AND d.status = 'pending' AND s.id = d.subscription"
    " RETURNING d.id, coalesce(d.redelivery_of, d.id) AS root, d.event, d.event_type,"
    " d.payload::text AS payload, d.test, d.attempts, d.created_at, d.subscription,"
    " s.url, s.secret_encrypted, s.enabled"
)


async def deliver(delivery_id: int) -> str:
    """One attempt of one delivery; returns what happened."""
    from hub.system.services import current

    settings = current().settings
    pool = connection_pool()
    row = await pool.fetchrow(_CLAIM, delivery_id)
    if row is None:
        return "not pending (already sent, being sent, or unknown)"
    if not row["enabled"] and not row["test"]:
        await _record(delivery_id, "skipped", error="the subscription is disabled")
        return "skipped"
    body = envelope(row)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "hub-webhooks/1",
        "X-Hub-Event": row["event_type"],
        "X-Hub-Delivery": str(row["id"]),
        "X-Hub-Timestamp": str(timestamp),
        "X-Hub-Signature-256": sign(
            subscriptions.secret_of(row, settings.secret_key), timestamp, body
        ),
        "Idempotency-Key": f"hub-webhook-{row['root']}",
    }
    timeout = float(settings.webhook_timeout_seconds)
    started = time.monotonic()
    code: int | None = None
    excerpt = ""
    error = ""
    permanent = False
    try:
        async with netguard.client(
            allow_private=settings.allow_private_callback_urls,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        ) as client:
            refusal = (
                None
                if settings.allow_private_callback_urls
                else netguard.literal_refusal(row["url"])
            )
            if refusal:
                raise netguard.RefusedAddress(refusal)
            response = await client.post(row["url"], content=body, headers=headers)
        code = response.status_code
        excerpt = response.text[:BODY_EXCERPT]
        if not 200 <= code < 300:
            error = f"the endpoint answered HTTP {code}" + (
                " (redirects are not followed)" if 300 <= code < 400 else ""
            )
    except netguard.RefusedAddress as exc:
        error = (
            f"the address is not allowed ({exc}); an operator can allow private addresses"
            " with HUB_ALLOW_PRIVATE_CALLBACK_URLS"
        )
        permanent = True
    except httpx.TimeoutException as exc:
        error = f"timed out after {timeout:g} s ({type(exc).__name__})"
    except httpx.HTTPError as exc:
        error = f"could not be reached ({type(exc).__name__}: {exc})"
    latency = int((time.monotonic() - started) * 1000)
    fields: dict[str, Any] = {
        "response_code": code,
        "response_body": excerpt,
        "latency_ms": latency,
    }
    if not error:
        await _record(
            delivery_id, "succeeded", error="", delivered_at=dt.datetime.now(dt.UTC), **fields
        )
        if not row["test"]:
            await pool.execute(
                "UPDATE webhook_subscription SET consecutive_failures = 0 WHERE id = $1"
                " AND consecutive_failures <> 0",
                row["subscription"],
            )
        return "succeeded"
    attempts = int(row["attempts"])
    if permanent or attempts >= settings.webhook_max_attempts:
        await _record(delivery_id, "failed", error=f"attempt {attempts}: {error}", **fields)
        if not row["test"]:
            await _count_failure(row["subscription"], settings.webhook_disable_after)
        return "failed"
    delay = backoff(attempts, settings.webhook_retry_seconds)
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay)
    await _record(
        delivery_id, "pending", error=f"attempt {attempts}: {error}", next_attempt_at=at, **fields
    )
    await deliveries.enqueue([delivery_id], attempts, at=at.timestamp())
    return f"retry in {delay} s"


async def _record(delivery_id: int, status: str, **fields: Any) -> None:
    sets = ["status = $2", "updated_at = now()"]
    values: list[Any] = [delivery_id, status]
    for column, value in fields.items():
        values.append(value)
        sets.append(f"{column} = ${len(values)}")
    await connection_pool().execute(
        f"UPDATE webhook_delivery SET {', '.join(sets)} WHERE id = $1", *values
    )


async def _count_failure(subscription_id: int, disable_after: int) -> None:
    """One more delivery failed for good; at the limit the subscription is disabled, once."""
    from hub.webhooks import disabling

    row = await connection_pool().fetchrow(
        "UPDATE webhook_subscription SET consecutive_failures = consecutive_failures + 1"
        " WHERE id = $1 RETURNING consecutive_failures, enabled",
        subscription_id,
    )
    if row is not None and row["enabled"] and row["consecutive_failures"] >= disable_after:
        await disabling.disable(subscription_id, row["consecutive_failures"])


async def sweep() -> int:
    """Enqueue deliveries that are due but have no job: written inside a transaction that
    has committed since, a queue entry lost, or a worker that died mid-send."""
    now = dt.datetime.now(dt.UTC)
    pool = connection_pool()
    rows = await pool.fetch(
        "WITH reset AS (UPDATE webhook_delivery SET status = 'pending', updated_at = now()"
        " WHERE status = 'sending' AND updated_at < $1 RETURNING id, attempts)"
        " SELECT id, attempts FROM reset UNION ALL"
        " (SELECT id, attempts FROM webhook_delivery WHERE status = 'pending'"
        " AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT 1000)",
        now - STUCK_SENDING,
        now - SWEEP_GRACE,
    )
    # A bucketed key: the first enqueue of an attempt (keyed by attempt alone) may have run
    # before its row was committed, and SAQ keeps a finished job's key for a while.
    bucket = int(time.time() // 5)
    for row in rows:
        await deliveries.enqueue_keyed(row["id"], f"webhook:{row['id']}:{row['attempts']}:{bucket}")
    return len(rows)
