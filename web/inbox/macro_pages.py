"""Admin pages for macros (everyone: their own; `macros.manage`: the shared ones too) and
outgoing webhooks with their delivery log (`webhooks.manage`). Changes go through the REST API."""

from __future__ import annotations

from litestar import Response, get

from hub.auth import people
from hub.auth.permissions import Permission
from hub.macros import render, store
from hub.webhooks import deliveries, subscriptions
from web.inbox.render import html
from web.inbox.viewer import Viewer


@get("/admin/macros", access="authenticated")
async def macros_page(viewer: Viewer) -> Response[str]:
    """Macros: the list (yours, your teams', everyone's; every shared one for managers) and a
    form to create or edit one, with the variables it may use."""
    manages = viewer.may(Permission.MANAGE_MACROS)
    macros = await store.list_macros(viewer.agent, manageable=manages)
    teams = await people.list_teams()
    context = viewer.context(
        section="macros",
        macros=[store.view(m) for m in macros],
        manages=manages,
        teams=teams,
        team_names={t["id"]: t["name"] for t in teams},
        variables=render.VARIABLES,
    )
    return html("admin/macros.html", context, host=viewer.host)


@get("/admin/webhooks", permission=Permission.MANAGE_WEBHOOKS)
async def webhooks_page(viewer: Viewer) -> Response[str]:
    viewer.require(Permission.MANAGE_WEBHOOKS)
    context = viewer.context(
        section="webhooks",
        subscriptions=[subscriptions.view(r) for r in await subscriptions.list_all()],
        event_types=subscriptions.EVENT_TYPES,
    )
    return html("admin/webhooks.html", context, host=viewer.host)


@get("/admin/webhooks/{subscription_id:int}", permission=Permission.MANAGE_WEBHOOKS)
async def webhook_page(viewer: Viewer, subscription_id: int) -> Response[str]:
    """One subscription: its settings, a test event, and the delivery log with redelivery."""
    viewer.require(Permission.MANAGE_WEBHOOKS)
    subscription = subscriptions.view(await subscriptions.get(subscription_id))
    context = viewer.context(
        section="webhooks",
        s=subscription,
        deliveries=await deliveries.list_for(subscription_id, limit=100),
        event_types=subscriptions.EVENT_TYPES,
    )
    return html("admin/webhook.html", context, host=viewer.host)


handlers = [macros_page, webhooks_page, webhook_page]
