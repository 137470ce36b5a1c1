"""CRM hooks: a CRM says a record changed; the hub reads that record now and stores it.

The hook body is only a notice. The record is fetched from the CRM's API (a hook's attributes
may be partial: only the changed fields), stored with the same upsert as a sync, so a
redelivered hook stores nothing new and announces nothing. A record of a customer the hub
does not know yet brings the customer with it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from hub.crm import sources, store
from hub.crm.contract import (
    CrmConnector,
    CrmError,
    CrmRecordError,
    Entity,
    HookChange,
    HookPing,
    Record,
)
from hub.db.engine import connection_pool
from hub.realtime import events

log = logging.getLogger(__name__)


class HookReply:
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body


def _customer_of(entity: Entity, record: Record | None) -> int | None:
    if record is None:
        return None
    if entity == "customer":
        return record.external_id
    return getattr(record, "customer_external_id", None)


async def apply(row: asyncpg.Record, connector: CrmConnector, change: HookChange) -> dict[str, Any]:
    """Bring one changed record up to date. Raises CrmError when the CRM cannot be read."""
    source_id = int(row["id"])
    entity = change.entity
    if entity is None or change.external_id is None:
        return {"ignored": change.model}
    record: Record | None = None
    deleted = change.action == "delete"
    if not deleted:
        record = await connector.fetch(
            entity, change.external_id, customer_external_id=change.customer_external_id
        )
        deleted = record is None
    customer_id = _customer_of(entity, record) or change.customer_external_id
    pool = connection_pool()
    extra: Record | None = None
    if entity != "customer" and customer_id and not deleted:
        known = await pool.fetchval(
            "SELECT 1 FROM crm_customer WHERE source = $1 AND external_id = $2",
            source_id,
            customer_id,
        )
        if not known:
            extra = await connector.fetch("customer", customer_id)
    balance = None
    if (
        customer_id
        and (entity == "customer" or extra is not None)
        and not (deleted and entity == "customer")
    ):
        try:
            balance = await connector.balance(customer_id)
        except CrmError as exc:
            # The balance is a nicety; the record itself is what the hook is about.
            log.warning(
                "crm source %s: balance of customer %s not read: %s", source_id, customer_id, exc
            )
    region = str(row["phone_region"])
    async with pool.acquire() as conn, conn.transaction():
        changed: list[int] = []
        if extra is not None:
            changed += (await store.upsert(conn, source_id, "customer", [extra], region=region))[1]
        if deleted:
            changed += await store.tombstone(conn, source_id, entity, change.external_id)
        elif record is not None:
            changed += (await store.upsert(conn, source_id, entity, [record], region=region))[1]
        if (
            balance is not None
            and customer_id
            and await store.set_balance(conn, source_id, customer_id, balance)
        ):
            changed.append(customer_id)
        published = await store.emit_changes(conn, source_id, changed)
    await events.publish(published)
    return {
        "entity": entity,
        "id": change.external_id,
        "deleted": deleted,
        "changed": bool(changed),
    }


async def receive(
    rows: Sequence[asyncpg.Record],
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret_key: str,
) -> HookReply:
    """Answer a hook delivery for one of `rows` (the sources its URL may belong to)."""
    content_type = headers.get("content-type", "")
    connectors: list[tuple[asyncpg.Record, CrmConnector]] = [
        (row, sources.connector_for(row, secret_key=secret_key)) for row in rows
    ]
    try:
        if not connectors:
            return HookReply(
                404, {"code": "not_found", "message": "no CRM source receives hooks here"}
            )
        # The CRM checks the URL with an unsigned ping; answering it stores nothing.
        try:
            first = connectors[0][1].parse_hook(body, content_type)
        except ValueError:
            first = None
        if isinstance(first, HookPing):
            return HookReply(200, "ok")
        # The signature says which source sent it (several may share the URL without an id).
        match = next(((r, c) for r, c in connectors if c.verify_hook(body, headers)), None)
        if match is None:
            return HookReply(403, {"code": "bad_signature", "message": "signature check failed"})
        row, connector = match
        try:
            change = connector.parse_hook(body, content_type)
        except ValueError as exc:
            return HookReply(
                400, {"code": "bad_payload", "message": f"the hook could not be read: {exc}"}
            )
        if isinstance(change, HookPing):
            return HookReply(200, "ok")
        try:
            outcome = await apply(row, connector, change)
        except CrmRecordError as exc:
            async with connection_pool().acquire() as conn:
                await store.keep_bad(conn, int(row["id"]), None, [exc.bad])
            log.warning("crm hook: %s (raw: %.500s)", exc, exc.bad.raw)
            return HookReply(200, {"skipped": str(exc)})
        except CrmError as exc:
            # The CRM may deliver again; the next incremental sync reads the change anyway.
            log.warning("crm hook for source %s not applied: %s", row["id"], exc)
            return HookReply(503, {"code": "unavailable", "message": str(exc)})
        return HookReply(200, outcome)
    finally:
        for _, connector in connectors:
            await connector.aclose()
