"""The agent's profile: two-factor (enrol with a QR code, recovery codes, turn off), the
password change and the list of their sessions. Changes go through the REST API."""

from __future__ import annotations

from litestar import Response, get

from hub.auth import sessions, totp
from hub.system.services import current
from web.inbox.render import html
from web.inbox.viewer import Viewer
from web.security import must_enrol


@get("/profile", access="authenticated")
async def profile_page(viewer: Viewer) -> Response[str]:
    context = viewer.context(
        section="profile",
        totp=await totp.status(viewer.agent.id),
        must_enrol=must_enrol(viewer.principal),
        sessions=await sessions.list_sessions(
            viewer.agent.id, current_id=viewer.principal.session_id
        ),
        idle_hours=round(current().settings.session_idle_seconds / 3600, 1),
    )
    return html("profile.html", context, host=viewer.host)


handlers = [profile_page]
