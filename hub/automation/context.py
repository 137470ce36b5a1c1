"""What conditions look at: every fact about a set of conversations, read in one query.

A batch of events becomes one round trip however many rules look at it: the conversation, its
inbox's channel, tags, contact (attributes, email domains), the last customer message, SLA
deadlines and the CRM facts of the contact's linked customers (`crm_contact_facts`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec

_FACTS = """
SELECT c.id, c.inbox, i.channel, c.team, c.assignee, c.status, c.priority, c.subject, c.ref,
       c.contact, ct.name AS contact_name, ct.attributes::text AS attributes,
       c.sla_due_at, c.sla_warn_at, c.sla_breached_at,
       ARRAY(SELECT t.name FROM conversation_tag x JOIN tag t ON t.id = x.tag
              WHERE x.conversation = c.id) AS tags,
       ARRAY(SELECT DISTINCT split_part(ci.address, '@', 2) FROM contact_identity ci
              WHERE ci.contact = c.contact AND ci.kind = 'email') AS domains,
       (SELECT m.text FROM message m WHERE m.conversation = c.id AND m.kind = 'message'
          AND m.direction = 'in' ORDER BY m.id DESC LIMIT 1) AS last_text,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
            'status', f.customer_status, 'overdue_count', f.overdue_invoice_count,
            'overdue_amount', f.overdue_amount, 'services', f.service_statuses,
            'tariffs', ARRAY(SELECT DISTINCT x FROM crm_service s
                CROSS JOIN LATERAL unnest(ARRAY[s.description, s.tariff_id::text]) AS x
                WHERE s.source = f.source AND s.customer_external_id = f.external_id
                  AND s.deleted_at IS NULL AND x IS NOT NULL AND x <> ''))), '[]'::jsonb)::text
          FROM crm_contact_facts f WHERE f.contact = c.contact) AS crm
  FROM conversation c JOIN inbox i ON i.id = c.inbox JOIN contact ct ON ct.id = c.contact
 WHERE c.id = ANY($1::int[])
"""


@dataclass
class Facts:
    id: int
    inbox: int
    channel: str
    team: int | None
    assignee: int | None
    status: str
    priority: str
    subject: str
    ref: int
    contact: int
    contact_name: str
    attributes: dict[str, Any]
    tags: set[str]
    domains: set[str]
    last_text: str
    sla_due_at: dt.datetime | None
    sla_warn_at: dt.datetime | None
    sla_breached_at: dt.datetime | None
    crm: list[dict[str, Any]]
    # From the event being handled: the message's text, a CSAT rating.
    event_text: str | None = None
    event_data: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.event_text if self.event_text is not None else self.last_text

    def sla_state(self, now: dt.datetime) -> str:
        if self.sla_breached_at is not None or (self.sla_due_at and self.sla_due_at <= now):
            return "breached"
        if self.sla_warn_at is not None and self.sla_warn_at <= now:
            return "at_risk"
        return "on_track" if self.sla_due_at is not None else "none"


async def load(conn: asyncpg.Connection, conversation_ids: Sequence[int]) -> dict[int, Facts]:
    if not conversation_ids:
        return {}
    rows = await conn.fetch(_FACTS, sorted(set(conversation_ids)))
    return {
        r["id"]: Facts(
            id=r["id"],
            inbox=r["inbox"],
            channel=r["channel"],
            team=r["team"],
            assignee=r["assignee"],
            status=r["status"],
            priority=r["priority"],
            subject=r["subject"] or "",
            ref=r["ref"],
            contact=r["contact"],
            contact_name=r["contact_name"] or "",
            attributes=msgspec.json.decode(r["attributes"] or "{}"),
            tags={t.lower() for t in r["tags"]},
            domains={d.lower() for d in r["domains"] if d},
            last_text=r["last_text"] or "",
            sla_due_at=r["sla_due_at"],
            sla_warn_at=r["sla_warn_at"],
            sla_breached_at=r["sla_breached_at"],
            crm=msgspec.json.decode(r["crm"]),
        )
        for r in rows
    }
