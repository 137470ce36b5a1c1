"""Demo access data: a custom role with an agent in it, two-factor for the supervisor, and an audit
log with some history."""

from __future__ import annotations

from hub.auth import accounts, audit, roles, totp
from hub.auth.permissions import Permission
from hub.auth.roles import NewRole
from hub.db.engine import connection_pool

BILLING_LOGIN = ("bianca@example.com", "hub-demo-billing")
BILLING_PERMISSIONS = [
    Permission.READ_CONVERSATIONS,
    Permission.REPLY,
    Permission.NOTE,
    Permission.UPDATE_CONVERSATIONS,
    Permission.ASSIGN,
    Permission.READ_CONTACTS,
    Permission.VIEW_CRM_CARD,
    Permission.VIEW_REPORTS,
]


async def two_factor(agent_id: int, email: str, totp_secret: str, secret_key: str) -> None:
    """Two-factor on, as if enrolled (no code spent: the first login may use the current one)."""
    await totp.start_enrolment(agent_id, email, secret_key=secret_key, secret=totp_secret)
    await connection_pool().execute(
        "UPDATE agent_totp SET confirmed_at = now() WHERE agent = $1", agent_id
    )


async def seed_access(admin_id: int, inbox_ids: list[int]) -> int:
    """The "Billing specialist" role (no assigning others, no settings, no API keys) and Bianca,
    who has it and sees the demo inboxes; the id of her agent."""
    if not await roles.exists("billing"):
        await roles.create_role(
            NewRole(
                key="billing",
                name="Billing specialist",
                description="Answers billing questions: reads and replies, sees the CRM card.",
                permissions=[p.value for p in BILLING_PERMISSIONS],
            ),
            actor_id=admin_id,
        )
    bianca = await accounts.create_agent(*BILLING_LOGIN, name="Bianca Billing", role="billing")
    await connection_pool().executemany(
        "INSERT INTO inbox_member (inbox, agent) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [(inbox, bianca.id) for inbox in inbox_ids],
    )
    await audit.record(
        "agent.invite", actor_id=admin_id, target_type="agent", target_id=bianca.id,
        data={"email": BILLING_LOGIN[0], "role": "billing"}, ip="192.0.2.10",
    )  # fmt: skip
    # Some history for the audit log page: logins from two offices, a mistyped password.
    await audit.record("login", actor_id=admin_id, target_type="agent",
                       target_id=admin_id, ip="192.0.2.10")  # fmt: skip
    await audit.record(
        "login.failed", actor_id=None, actor_type="anonymous",
        data={"email": BILLING_LOGIN[0], "reason": "password"}, ip="198.51.100.23",
    )  # fmt: skip
    await audit.record("login", actor_id=bianca.id, target_type="agent",
                       target_id=bianca.id, ip="198.51.100.23")  # fmt: skip
    return bianca.id
