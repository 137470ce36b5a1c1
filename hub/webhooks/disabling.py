"""Disabling a subscription that keeps failing: once, with a notice to its admins and an audit
entry, so nobody learns of it only from a silent integration."""

from __future__ import annotations

import logging

from hub.auth import audit
from hub.auth.permissions import Permission, Role, allowed
from hub.db.engine import connection_pool
from hub.notifications.store import notify

log = logging.getLogger(__name__)

_MANAGERS = [r.value for r in Role if allowed(r.value, Permission.MANAGE_WEBHOOKS)]


async def disable(subscription_id: int, failures: int) -> bool:
    """Disable it (if still enabled); returns whether this call did."""
    pool = connection_pool()
    reason = f"disabled after {failures} failed deliveries in a row"
    name = await pool.fetchval(
        "UPDATE webhook_subscription SET enabled = false, disabled_reason = $2, updated_at = now()"
        " WHERE id = $1 AND enabled RETURNING name",
        subscription_id,
        reason,
    )
    if name is None:
        return False  # another worker disabled it first, or an admin did
    log.warning("webhook subscription %s (%s) %s", subscription_id, name, reason)
    await audit.record(
        "webhook_subscription.disabled",
        actor_id=None,
        actor_type="system",
        target_type="webhook_subscription",
        target_id=subscription_id,
        data={"name": name, "consecutive_failures": failures},
    )
    admins = [
        r["id"]
        for r in await pool.fetch(
            "SELECT id FROM agent WHERE active AND role = ANY($1::text[]) ORDER BY id", _MANAGERS
        )
    ]
    await notify(
        agent_ids=admins,
        title=f"Webhook “{name}” was disabled",
        body=f"It was {reason}. Check the endpoint, then enable it again on the webhooks page.",
        data={
            "webhook_subscription_id": subscription_id,
            "url": f"/admin/webhooks/{subscription_id}",
        },
    )
    return True
