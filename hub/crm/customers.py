"""Reading CRM customers: a contact's card, one customer, search; and an agent's link decisions.

A contact's customers are computed from what they share (crm_contact_customers): every email
and E.164 phone of the contact against every address of the customer. An agent can link a
customer by hand or block a match that is wrong; both are stored in `crm_link` and logged.
When two customers match and no agent has chosen, the card lists both: it never picks one.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from hub.auth import audit
from hub.auth.access import NotFound
from hub.crm.phones import to_e164
from hub.db.engine import connection_pool

SEARCH_LIMIT = 25


def _decode(raw: str | None) -> Any:
    return None if raw is None else msgspec.json.decode(raw)


async def card(contact_id: int) -> dict[str, Any]:
    """The card of a contact: {customer, candidates, ambiguous, merge_suggestions, connected}
    (`connected`: whether any CRM source is, so a card can say so), in one round trip."""
    row = await connection_pool().fetchrow(
        "SELECT crm_card_json($1), EXISTS (SELECT 1 FROM crm_source WHERE active)", contact_id
    )
    assert row is not None
    result: dict[str, Any] = _decode(row[0])
    result["connected"] = bool(row[1])
    return result


def api_view(data: dict[str, Any]) -> dict[str, Any]:
    """The `crm` part of GET /api/v1/contacts/{id}: the issue's {customer, services, invoices,
    tickets}, with the candidates when the match is ambiguous."""
    customer = data.get("customer")
    details = dict(customer) if customer else None
    services = details.pop("services", []) if details else []
    invoices = details.pop("invoices", []) if details else []
    tickets = details.pop("tickets", []) if details else []
    return {
        "customer": details,
        "services": services,
        "invoices": invoices,
        "tickets": tickets,
        "ambiguous": data.get("ambiguous", False),
        "candidates": data.get("candidates", []),
        "merge_suggestions": data.get("merge_suggestions", []),
    }


async def customer(customer_id: int) -> dict[str, Any]:
    pool = connection_pool()
    async with pool.acquire() as conn:
        raw = await conn.fetchval("SELECT crm_customer_json($1)", customer_id)
        if raw is None:
            raise NotFound(f"no CRM customer {customer_id}")
        contacts = await conn.fetch(
            "SELECT ct.id, ct.name, x.how FROM crm_customer_contacts($1) x"
            " JOIN contact ct ON ct.id = x.contact ORDER BY ct.id",
            customer_id,
        )
    result: dict[str, Any] = _decode(raw)
    result["contacts"] = [dict(r) for r in contacts]
    return result


def _like(text: str) -> str:
    return "%" + re.sub(r"([%_\\])", r"\\\1", text.lower()) + "%"


async def search(q: str, *, limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]:
    """Customers by name, login, email or phone (a phone in any format the sources' regions read)."""
    text = q.strip()
    if not text:
        return []
    pool = connection_pool()
    regions = [
        r["phone_region"]
        for r in await pool.fetch("SELECT DISTINCT phone_region FROM crm_source WHERE active")
    ]
    phones = sorted({p for p in (to_e164(text, region) for region in regions) if p})
    rows = await pool.fetch(
        "SELECT c.id, c.source AS source_id, c.external_id, c.login, c.name, c.status, c.emails,"
        " c.phones FROM crm_customer c JOIN crm_source s ON s.id = c.source AND s.active"
        " WHERE c.deleted_at IS NULL AND (lower(c.name) LIKE $1 OR lower(c.login) LIKE $1"
        " OR c.emails && ARRAY[$2]::text[] OR c.phones && $3::text[])"
        " ORDER BY (lower(c.login) = $2 OR c.emails && ARRAY[$2]::text[]) DESC, c.name, c.id LIMIT $4",
        _like(text),
        text.lower(),
        phones,
        limit,
    )
    return [dict(r) for r in rows]


async def _decide(contact_id: int, customer_id: int, how: str, agent_id: int | None) -> None:
    pool = connection_pool()
    if await pool.fetchval("SELECT 1 FROM contact WHERE id = $1", contact_id) is None:
        raise NotFound(f"no contact {contact_id}")
    if await pool.fetchval("SELECT 1 FROM crm_customer WHERE id = $1", customer_id) is None:
        raise NotFound(f"no CRM customer {customer_id}")
    await pool.execute(
        "INSERT INTO crm_link (customer, contact, how, agent) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (customer, contact) DO UPDATE SET how = EXCLUDED.how, agent = EXCLUDED.agent,"
        " created_at = now()",
        customer_id,
        contact_id,
        how,
        agent_id,
    )
    await audit.record(
        f"crm.{'linked' if how == 'manual' else 'unlinked'}",
        actor_id=agent_id,
        target_type="contact",
        target_id=contact_id,
        data={"customer_id": customer_id},
    )


async def link(contact_id: int, customer_id: int, *, agent_id: int | None) -> None:
    """An agent says: this contact is this customer (also when nothing they share says so)."""
    await _decide(contact_id, customer_id, "manual", agent_id)


async def unlink(contact_id: int, customer_id: int, *, agent_id: int | None) -> None:
    """An agent says: this contact is not this customer, whatever addresses they share."""
    await _decide(contact_id, customer_id, "blocked", agent_id)
