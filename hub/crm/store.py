"""Writing CRM records: one statement per page, whatever its size.

A page goes to PostgreSQL as one JSON array, unpacked by `jsonb_to_recordset` into an
INSERT … ON CONFLICT. A row whose raw record hashes the same as the stored one is not written
at all (the WHERE of DO UPDATE), so re-reading unchanged records, an overlapping incremental
window and a redelivered hook cost no writes and announce nothing. The statements answer with
the customers whose card changed, which is what the live card and the events need.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from hub.crm.contract import BadRecord, CrmCustomer, Entity, Record
from hub.crm.phones import all_e164
from hub.realtime import events

TABLES: dict[str, str] = {
    "customer": "crm_customer",
    "service": "crm_service",
    "invoice": "crm_invoice",
    "ticket": "crm_ticket",
}

# (column, SQL type) per entity, as the records spell them; raw and the bookkeeping columns
# (source, raw_hash, synced_at, deleted_at) are added to each.
_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "customer": [
        ("external_id", "bigint"),
        ("login", "text"),
        ("name", "text"),
        ("status", "text"),
        ("category", "text"),
        ("email_raw", "text"),
        ("phone_raw", "text"),
        ("emails", "text[]"),
        ("phones", "text[]"),
        ("street", "text"),
        ("zip_code", "text"),
        ("city", "text"),
        ("mrr_total", "numeric"),
        ("date_add", "date"),
        ("last_online", "timestamp"),
        ("changed_at", "timestamp"),
    ],
    "service": [
        ("external_id", "bigint"),
        ("customer_external_id", "bigint"),
        ("tariff_id", "bigint"),
        ("description", "text"),
        ("status", "text"),
        ("quantity", "numeric"),
        ("unit_price", "numeric"),
        ("start_date", "date"),
        ("end_date", "date"),
        ("login", "text"),
        ("ipv4", "text"),
        ("changed_at", "timestamp"),
    ],
    "invoice": [
        ("external_id", "bigint"),
        ("customer_external_id", "bigint"),
        ("number", "text"),
        ("status", "text"),
        ("total", "numeric"),
        ("due", "numeric"),
        ("date_created", "date"),
        ("date_till", "date"),
        ("date_payment", "date"),
        ("changed_at", "timestamp"),
    ],
    "ticket": [
        ("external_id", "bigint"),
        ("customer_external_id", "bigint"),
        ("subject", "text"),
        ("priority", "text"),
        ("status_id", "bigint"),
        ("closed", "boolean"),
        ("opened_at", "timestamp"),
        ("changed_at", "timestamp"),
    ],
}


def _upsert_sql(entity: str) -> str:
    table = TABLES[entity]
    columns = _COLUMNS[entity]
    names = [name for name, _ in columns]
    record_type = ", ".join(f"{name} {kind}" for name, kind in [*columns, ("raw", "jsonb")])
    inserted = ", ".join(f"r.{name}" for name in names)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names[1:])
    # Customers: which card changed is the customer itself; other records name their customer
    # (and a record moved to another customer changes both cards).
    if entity == "customer":
        answer = "SELECT count(*), coalesce(array_agg(external_id), '{}') FROM up"
        returning = "t.external_id"
    else:
        answer = (
            "SELECT (SELECT count(*) FROM up), coalesce(array_agg(DISTINCT c), '{}')"
            " FROM (SELECT customer_external_id AS c"
            " FROM up UNION ALL SELECT o.customer_external_id FROM old o"
            " JOIN up USING (external_id)) x WHERE c IS NOT NULL"
        )
        returning = "t.external_id, t.customer_external_id"
    old = (
        ""
        if entity == "customer"
        else f", old AS (SELECT external_id, customer_external_id FROM {table}"
        " WHERE source = $1 AND external_id = ANY(SELECT external_id FROM r))"
    )
    return (
        f"WITH r AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS r({record_type})){old},"
        f" up AS (INSERT INTO {table} AS t (source, {', '.join(names)}, raw, raw_hash, synced_at,"
        f" deleted_at) SELECT $1, {inserted}, r.raw, md5(r.raw::text), now(), NULL FROM r"
        f" ON CONFLICT (source, external_id) DO UPDATE SET {updates}, raw = EXCLUDED.raw,"
        " raw_hash = EXCLUDED.raw_hash, synced_at = now(), deleted_at = NULL"
        " WHERE t.raw_hash IS DISTINCT FROM EXCLUDED.raw_hash OR t.deleted_at IS NOT NULL"
        f" RETURNING {returning}) {answer}"
    )


_UPSERT = {entity: _upsert_sql(entity) for entity in TABLES}
_encoder = msgspec.json.Encoder(decimal_format="number")


def _customer_row(customer: CrmCustomer, region: str) -> dict[str, Any]:
    row = msgspec.structs.asdict(customer)
    row["phones"] = all_e164(row.pop("phones_raw"), region)
    return row


def encode_page(entity: Entity, records: Sequence[Record], region: str) -> bytes:
    """The page as the JSON array the upsert reads. A record twice in a page keeps its last
    version (one statement may not update a row twice)."""
    latest = {record.external_id: record for record in records}
    if entity == "customer":
        rows: list[Any] = [_customer_row(c, region) for c in latest.values()]  # type: ignore[arg-type]
        return _encoder.encode(rows)
    return _encoder.encode(list(latest.values()))


async def upsert(
    conn: asyncpg.Connection,
    source_id: int,
    entity: Entity,
    records: Sequence[Record],
    *,
    region: str,
) -> tuple[int, list[int]]:
    """Store a page; returns how many rows changed and the external ids of the customers
    whose card changed with them."""
    if not records:
        return 0, []
    payload = encode_page(entity, records, region).decode()
    row = await conn.fetchrow(_UPSERT[entity], source_id, payload)
    assert row is not None
    return int(row[0]), list(row[1])


async def tombstone_gaps(
    conn: asyncpg.Connection,
    source_id: int,
    entity: Entity,
    *,
    after_id: int,
    up_to: int | None,
    present: Sequence[int],
    read_at: datetime,
) -> list[int]:
    """Mark deleted what a full read of ids (after_id, up_to] did not return.

    Only rows not written since the read began: a hook may have stored a record created after
    the page was read. Returns the customers whose card changed.
    """
    table = TABLES[entity]
    customer = "external_id" if entity == "customer" else "customer_external_id"
    changed: list[int] = await conn.fetchval(
        f"WITH gone AS (UPDATE {table} SET deleted_at = now() WHERE source = $1"
        " AND external_id > $2 AND ($3::bigint IS NULL OR external_id <= $3)"
        " AND NOT (external_id = ANY($4::bigint[])) AND deleted_at IS NULL AND synced_at < $5"
        f" RETURNING {customer} AS c)"
        " SELECT coalesce(array_agg(DISTINCT c), '{}') FROM gone WHERE c IS NOT NULL",
        source_id,
        after_id,
        up_to,
        list(present),
        read_at,
    )
    return changed


async def tombstone(
    conn: asyncpg.Connection, source_id: int, entity: Entity, external_id: int
) -> list[int]:
    """One record gone (a delete hook, or a 404 when fetched); returns the customer it touched."""
    table = TABLES[entity]
    customer = "external_id" if entity == "customer" else "customer_external_id"
    value = await conn.fetchval(
        f"UPDATE {table} SET deleted_at = now(), synced_at = now() WHERE source = $1"
        f" AND external_id = $2 AND deleted_at IS NULL RETURNING {customer}",
        source_id,
        external_id,
    )
    return [] if value is None else [int(value)]


async def keep_bad(
    conn: asyncpg.Connection, source_id: int, run_id: int | None, bad: Sequence[BadRecord]
) -> None:
    """Unreadable records, with their raw JSON, for an admin to look at (one statement)."""
    if not bad:
        return
    await conn.execute(
        "INSERT INTO crm_bad_record (run, source, entity, external_id, error, raw)"
        " SELECT $1, $2, r.entity, r.external_id, r.error, r.raw"
        " FROM jsonb_to_recordset($3::jsonb) AS r(entity text, external_id text, error text, raw jsonb)",
        run_id,
        source_id,
        msgspec.json.encode(list(bad)).decode(),
    )


async def set_balance(
    conn: asyncpg.Connection, source_id: int, customer_external_id: int, balance: Decimal
) -> bool:
    """Store a customer's balance; True when it changed."""
    changed = await conn.fetchval(
        "UPDATE crm_customer SET deposit = $3, deposit_at = now() WHERE source = $1"
        " AND external_id = $2 AND deposit IS DISTINCT FROM $3 RETURNING id",
        source_id,
        customer_external_id,
        balance,
    )
    return changed is not None


# Open conversations of the contacts linked to changed customers get a `crm.updated` event, so
# an agent looking at one sees the card change. Only ongoing conversations: a resolved one is
# not watched, and a full sync's thousands of changes must not flood the event table.
_EVENTS_SQL = """
WITH ev AS (
    SELECT DISTINCT cv.id AS conversation, cv.inbox, cv.contact, c.id AS customer
      FROM crm_customer c
     CROSS JOIN LATERAL crm_customer_contacts(c.id) cc
      JOIN conversation cv ON cv.contact = cc.contact AND cv.status IN ('open', 'pending', 'snoozed')
     WHERE c.source = $1 AND c.external_id = ANY($2::bigint[])
)
SELECT CASE WHEN EXISTS (SELECT 1 FROM ev) THEN hub_emit((SELECT jsonb_agg(jsonb_build_object(
    'type', 'crm.updated', 'conversation', conversation, 'inbox', inbox,
    'data', jsonb_build_object('contact_id', contact, 'customer_id', customer))
    ORDER BY conversation) FROM ev), 'system', NULL) END
"""


async def emit_changes(
    conn: asyncpg.Connection, source_id: int, customer_external_ids: Sequence[int]
) -> list[events.Event]:
    """Announce changed cards; call as the transaction's last statement, publish after commit."""
    if not customer_external_ids:
        return []
    raw = await conn.fetchval(_EVENTS_SQL, source_id, sorted(set(customer_external_ids)))
    return [] if raw is None else events.decode_events(raw)
