"""The demo's macros (shared, with CRM variables and actions) and an example webhook
subscription with a delivery log, so `hub serve --demo` shows both at work."""

from __future__ import annotations

import datetime as dt

import msgspec

from hub.auth.accounts import AgentInfo
from hub.db.engine import connection_pool
from hub.macros import store
from hub.macros.actions import Assign, SetStatus, Tag
from hub.macros.store import MacroIn
from hub.system.services import current
from hub.webhooks import subscriptions
from hub.webhooks.subscriptions import SubscriptionIn

MACROS = [
    MacroIn(
        name="Greeting",
        body="Hello {{ contact.first_name | default('there', true) }}, thanks for writing to us."
        " I'm {{ agent.first_name }} and I'll look after this.",
        visibility="everyone",
    ),
    MacroIn(
        name="Overdue invoice reminder",
        body="Hi {{ contact.first_name }}, your account {{ crm.customer.login }} has"
        " {{ crm.invoice.overdue_count }} overdue invoice(s), {{ crm.invoice.overdue_total }} EUR"
        " in total. Once paid, the service is restored within minutes. — {{ agent.name }}",
        actions=[Tag(tags=["billing"]), SetStatus(status="pending")],
        visibility="everyone",
    ),
    MacroIn(
        name="Router restart",
        body="Hi {{ contact.first_name }}, could you unplug your router for 30 seconds and plug it"
        " back in? If the light stays red, reply here (#{{ conversation.ref }}) and we'll send a"
        " technician.",
        actions=[Tag(tags=["router"]), Assign(to_self=True)],
        visibility="team",
    ),
]


async def seed_macros_and_webhooks(admin: AgentInfo, team_id: int) -> None:
    for macro in MACROS:
        data = msgspec.structs.replace(
            macro, team_id=team_id if macro.visibility == "team" else None
        )
        await store.create_macro(admin, data)
    # An example integration that was switched off after failing: .invalid never resolves, so
    # nothing is sent from the demo, and the log shows what a failing endpoint looks like.
    created = await subscriptions.create(
        SubscriptionIn(
            name="Billing system (example)",
            url="https://billing.example.invalid/hub-webhooks",
            event_types=["conversation.created", "conversation.updated", "sla.breached"],
            enabled=False,
        ),
        secret_key=current().settings.secret_key,
        agent_id=admin.id,
    )
    now = dt.datetime.now(dt.UTC)
    pool = connection_pool()
    await pool.execute(
        "UPDATE webhook_subscription SET consecutive_failures = 5,"
        " disabled_reason = 'disabled after 5 failed deliveries in a row' WHERE id = $1",
        created["id"],
    )
    log = [
        ("succeeded", 1, 200, '{"received": true}', 84, "", 180),
        (
            "failed",
            8,
            503,
            "Service Unavailable",
            10012,
            "attempt 8: the endpoint answered HTTP 503",
            95,
        ),
        ("failed", 8, None, "", 5003, "attempt 8: timed out after 10 s (ConnectTimeout)", 40),
    ]
    for status, attempts, code, body, latency, error, minutes_ago in log:
        at = now - dt.timedelta(minutes=minutes_ago)
        await pool.execute(
            "INSERT INTO webhook_delivery (subscription, event_type, payload, status, attempts,"
            " response_code, response_body, latency_ms, error, created_at, updated_at, delivered_at)"
            " VALUES ($1, 'conversation.created', $2::jsonb, $3, $4, $5, $6, $7, $8, $9, $9,"
            " CASE WHEN $3 = 'succeeded' THEN $9::timestamptz END)",
            created["id"],
            msgspec.json.encode({"id": 1000 + minutes_ago, "status": "open"}).decode(),
            status,
            attempts,
            code,
            body,
            latency,
            error,
            at,
        )
