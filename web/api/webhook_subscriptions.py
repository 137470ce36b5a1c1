"""Outgoing webhook subscriptions: CRUD, the delivery log, a test event, redelivery."""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get, post, put
from litestar.params import Parameter

from hub.auth import audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.system.services import current
from hub.webhooks import deliveries, subscriptions
from hub.webhooks.subscriptions import SubscriptionIn
from web.security import client_ip

_PATH = "/api/v1/webhook-subscriptions"


@get(_PATH, tags=["webhooks"], permission=Permission.MANAGE_WEBHOOKS)
async def list_subscriptions(principal: Principal) -> list[dict[str, Any]]:
    return [subscriptions.view(r) for r in await subscriptions.list_all()]


@get(f"{_PATH}/event-types", tags=["webhooks"], permission=Permission.MANAGE_WEBHOOKS)
async def list_event_types(principal: Principal) -> list[str]:
    """The event types a subscription may ask for."""
    return list(subscriptions.EVENT_TYPES)


@post(_PATH, tags=["webhooks"], status_code=201, permission=Permission.MANAGE_WEBHOOKS)
async def create_subscription(
    principal: Principal, data: SubscriptionIn, request: Request[Any, Any, Any]
) -> dict[str, Any]:
    """A subscription; the answer holds its signing secret, shown this once."""
    created = await subscriptions.create(
        data, secret_key=current().settings.secret_key, agent_id=principal.agent.id
    )
    await audit.record(
        "webhook_subscription.created",
        actor_id=principal.agent.id,
        target_type="webhook_subscription",
        target_id=created["id"],
        data={"name": created["name"], "url": created["url"]},
        ip=client_ip(request),
    )
    return created


@get(f"{_PATH}/{{subscription_id:int}}", tags=["webhooks"], permission=Permission.MANAGE_WEBHOOKS)
async def get_subscription(principal: Principal, subscription_id: int) -> dict[str, Any]:
    return subscriptions.view(await subscriptions.get(subscription_id))


@put(f"{_PATH}/{{subscription_id:int}}", tags=["webhooks"], permission=Permission.MANAGE_WEBHOOKS)
async def update_subscription(
    principal: Principal,
    subscription_id: int,
    data: SubscriptionIn,
    request: Request[Any, Any, Any],
) -> dict[str, Any]:
    """Replace its settings (a `secret` rotates the signing secret; leave it out to keep it).
    Enabling a disabled subscription starts its failure count afresh."""
    updated = await subscriptions.update(
        subscription_id, data, secret_key=current().settings.secret_key
    )
    await audit.record(
        "webhook_subscription.updated",
        actor_id=principal.agent.id,
        target_type="webhook_subscription",
        target_id=subscription_id,
        data={"url": data.url, "enabled": data.enabled, "secret_rotated": bool(data.secret)},
        ip=client_ip(request),
    )
    return updated


@delete(
    f"{_PATH}/{{subscription_id:int}}",
    tags=["webhooks"],
    status_code=204,
    permission=Permission.MANAGE_WEBHOOKS,
)
async def delete_subscription(
    principal: Principal, subscription_id: int, request: Request[Any, Any, Any]
) -> None:
    """Delete it with its delivery log."""
    await subscriptions.delete(subscription_id)
    await audit.record(
        "webhook_subscription.deleted",
        actor_id=principal.agent.id,
        target_type="webhook_subscription",
        target_id=subscription_id,
        ip=client_ip(request),
    )


@get(
    f"{_PATH}/{{subscription_id:int}}/deliveries",
    tags=["webhooks"],
    permission=Permission.MANAGE_WEBHOOKS,
)
async def list_deliveries(
    principal: Principal,
    subscription_id: int,
    before: int | None = Parameter(default=None, description="a delivery id: older ones"),
    limit: int = Parameter(default=50, ge=1, le=200),
) -> list[dict[str, Any]]:
    """The delivery log, newest first: status, attempts, response code and body excerpt, latency."""
    await subscriptions.get(subscription_id)
    return await deliveries.list_for(subscription_id, before=before, limit=limit)


@post(
    f"{_PATH}/{{subscription_id:int}}/test",
    tags=["webhooks"],
    status_code=202,
    permission=Permission.MANAGE_WEBHOOKS,
)
async def send_test(principal: Principal, subscription_id: int) -> dict[str, Any]:
    """Queue a `webhook.test` delivery (also to a disabled subscription); watch it in the log."""
    return await deliveries.send_test(subscription_id)


@post(
    f"{_PATH}/{{subscription_id:int}}/deliveries/{{delivery_id:int}}/redeliver",
    tags=["webhooks"],
    status_code=202,
    permission=Permission.MANAGE_WEBHOOKS,
)
async def redeliver(principal: Principal, subscription_id: int, delivery_id: int) -> dict[str, Any]:
    """Send a delivery's payload again (same Idempotency-Key); while that redelivery is still
    on its way, asking again returns it rather than queueing another."""
    return await deliveries.redeliver(subscription_id, delivery_id)


handlers = [
    list_subscriptions,
    list_event_types,
    create_subscription,
    get_subscription,
    update_subscription,
    delete_subscription,
    list_deliveries,
    send_test,
    redeliver,
]
