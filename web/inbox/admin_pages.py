"""Admin pages: inboxes, agents and teams, API keys. Changes go through the REST API."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from hub.auth import accounts, people, roles
from hub.auth.permissions import Permission
from hub.channels import inboxes
from hub.conversations import inbox_views
from hub.csat import settings as csat_settings
from hub.routing.assign import POLICIES
from hub.system.services import current
from web.inbox.render import html
from web.inbox.viewer import Viewer


def _inbox_view(row: Any) -> dict[str, Any]:
    settings = current().settings
    try:
        return inboxes.public_view(
            row, secret_key=settings.secret_key, public_url=settings.public_url
        )
    except inboxes.InvalidInbox:
        # A channel whose adapter is not installed yet (e.g. the demo's email inbox) is still
        # listed, with what the row itself says.
        return {
            "id": row["id"],
            "name": row["name"],
            "channel": row["channel"],
            "team_id": row["team"],
            "active": row["active"],
            "created_at": row["created_at"],
            "not_installed": True,
        }


@get("/admin/inboxes", permission=Permission.MANAGE_INBOXES)
async def inboxes_page(viewer: Viewer) -> Response[str]:
    """Inboxes: the list with webhook URLs, and a form to create an API-channel inbox."""
    rows = await inboxes.list_inboxes(None)
    team_rows = (await inbox_views.people())["teams"]
    context = viewer.context(
        section="inboxes",
        inboxes=[_inbox_view(r) for r in rows],
        teams=team_rows,
        team_names={t["id"]: t["name"] for t in team_rows},
        public_url=current().settings.public_url,
        surveys=await csat_settings.enabled_inboxes(),
    )
    return html("admin/inboxes.html", context, host=viewer.host)


@get("/admin/inboxes/{inbox_id:int}/csat", permission=Permission.MANAGE_INBOXES)
async def csat_settings_page(viewer: Viewer, inbox_id: int) -> Response[str]:
    """One inbox's CSAT survey: on or off, the delay after the resolution, how long answers
    count, the question, and (WhatsApp) the template for a closed reply window. Saved through
    `PUT /api/v1/inboxes/{id}/csat`."""
    inbox = await inboxes.get_inbox(inbox_id, include_inactive=True)
    context = viewer.context(
        section="inboxes",
        inbox={"id": inbox["id"], "name": inbox["name"], "channel": inbox["channel"]},
        csat=await csat_settings.get(inbox_id),
        default_question=csat_settings.DEFAULT_QUESTION,
        max_delay=csat_settings.MAX_DELAY_MINUTES,
        max_window=csat_settings.MAX_WINDOW_HOURS,
    )
    return html("admin/csat_settings.html", context, host=viewer.host)


@get("/admin/agents", permission=Permission.MANAGE_TEAMS)
async def agents_page(viewer: Viewer) -> Response[str]:
    """Agents, teams and inbox access. Each form shows only to whom the API would allow it:
    agents (invite, edit, deactivate) with agents.manage, teams with teams.manage, inbox access
    with inboxes.manage."""
    found = await people.directory()
    context = viewer.context(
        section="agents",
        team_names={t["id"]: t["name"] for t in found["teams"]},
        roles=await roles.list_roles(),
        policies=POLICIES,
        may_manage_agents=viewer.may(Permission.MANAGE_AGENTS),
        may_manage_inboxes=viewer.may(Permission.MANAGE_INBOXES),
        **found,
    )
    return html("admin/agents.html", context, host=viewer.host)


@get("/admin/api-keys", permission=Permission.USE_API_KEYS)
async def api_keys_page(viewer: Viewer) -> Response[str]:
    """The agent's own API keys: create (shown once), list, revoke."""
    keys = await accounts.list_api_keys(viewer.agent.id)
    context = viewer.context(section="api-keys", keys=keys)
    return html("admin/api_keys.html", context, host=viewer.host)


handlers = [inboxes_page, csat_settings_page, agents_page, api_keys_page]
