"""The demo's automation rules: they are in place before the demo conversations' events, so the
`automation` subscriber runs them on those events like on live ones, and the time rule closes
the demo's old resolved conversation at its first tick."""

from __future__ import annotations

from typing import Any

from hub.automation import rules
from hub.db.engine import connection_pool
from hub.routing import requirements

DEMO_RULES: list[dict[str, Any]] = [
    {
        "name": "VIP: Fiber 1000 customers first",
        "trigger": {"type": "conversation.created"},
        "conditions": {
            "all": [
                {"field": "crm.tariff", "op": "has_any", "value": ["Fiber 1000/1000"]},
                {"not": {"field": "priority", "value": ["high", "urgent"]}},
            ]
        },
        "actions": [
            {"type": "set_priority", "priority": "high"},
            {"type": "add_tags", "tags": ["vip"]},
        ],
    },
    {
        "name": "Overdue invoice → Billing",
        "trigger": {"type": "conversation.created"},
        "conditions": {
            "all": [
                {"field": "crm.overdue_invoice_count", "op": "gte", "value": 1},
                {"field": "message.text", "op": "matches", "value": r"invoice|charged|bill"},
            ]
        },
        "actions": [
            {"type": "set_priority", "priority": "urgent"},
            {"type": "assign_team", "team_id": 0},  # the Billing team, filled in below
            {
                "type": "private_note",
                "text": "The customer has overdue invoices: check the CRM card before replying.",
            },
        ],
        "stop_processing": True,
    },
    {
        "name": "Close a day after resolving",
        "trigger": {"type": "time.resolved", "minutes": 24 * 60},
        "actions": [{"type": "set_status", "status": "closed"}],
    },
]


async def seed_demo_rules() -> None:
    """A Billing team, the rules above and a tag that routes by skill (call before the demo
    conversations are written)."""
    pool = connection_pool()
    billing = await pool.fetchval("INSERT INTO team (name) VALUES ('Billing') RETURNING id")
    for rule in DEMO_RULES:
        actions = [
            {**a, "team_id": billing} if a["type"] == "assign_team" else a for a in rule["actions"]
        ]
        await rules.save_rule({**rule, "actions": actions})
    # Routing by skill: a conversation tagged "fiber" needs an agent who knows the product;
    # Alice (the first line's agent) does, so the demo's round robin still reaches her.
    await requirements.set_tag_map({"fiber": ["product:fiber"]})
    await pool.execute(
        "UPDATE agent SET skills = '{language:en,product:fiber}' WHERE email = 'alice@example.com'"
    )


async def mark_resolved_times() -> None:
    """The demo writes resolved conversations directly: give them the time they were resolved
    (their last message), which is what the "resolved for" rule counts from."""
    await connection_pool().execute(
        "UPDATE conversation SET resolved_at = last_message_at"
        " WHERE status IN ('resolved', 'closed') AND resolved_at IS NULL"
    )
