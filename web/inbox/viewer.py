"""Who is looking at a page: the signed-in agent, what they may see, their time zone.

Pages accept only the browser session (never an API key): they are for people, and the
session carries the CSRF token the page's scripts send back to the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from litestar import MediaType, Request, Response
from litestar.response import Redirect

from hub.auth import access
from hub.auth.accounts import AgentInfo, Principal
from hub.auth.permissions import Permission, allowed
from hub.routing import availability
from web.inbox.render import timezone
from web.security import must_enrol, principal_for

_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,255}$")


class LoginRequired(Exception):
    """No valid session: full pages redirect to the login page, htmx requests are told to."""


class NotAllowed(Exception):
    """The agent's role may not open this page."""


class EnrolRequired(Exception):
    """The agent's role must use two-factor and they have not enrolled: only /profile opens."""


PROFILE_PATH = "/profile"


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    visible: list[int] | None  # None: every inbox
    tz: ZoneInfo
    host: str
    availability: str = "available"

    @property
    def agent(self) -> AgentInfo:
        return self.principal.agent

    def may(self, permission: Permission) -> bool:
        return allowed(self.agent.role, permission)

    def require(self, permission: Permission) -> None:
        if not self.may(permission):
            raise NotAllowed(permission)

    def sees(self, inbox_id: int) -> bool:
        return self.visible is None or inbox_id in self.visible

    def context(self, **extra: Any) -> dict[str, Any]:
        """What every page template gets."""
        return {
            "agent": self.agent,
            "csrf": self.principal.csrf_token,
            "tz": self.tz,
            "is_admin": self.may(Permission.MANAGE_INBOXES),
            "may_view_agents": self.may(Permission.MANAGE_TEAMS),
            "may_manage_roles": self.may(Permission.MANAGE_ROLES),
            "may_view_audit": self.may(Permission.VIEW_AUDIT_LOG),
            "may_manage_crm": self.may(Permission.MANAGE_CRM),
            "may_use_api_keys": self.may(Permission.USE_API_KEYS),
            "may_view_reports": self.may(Permission.VIEW_REPORTS),
            "may_automate": self.may(Permission.MANAGE_AUTOMATION),
            "may_manage_webhooks": self.may(Permission.MANAGE_WEBHOOKS),
            "availability": self.availability,
            **extra,
        }


def host_of(request: Request[Any, Any, Any]) -> str:
    host = request.headers.get("host", "")
    return host if _HOST.match(host) else "localhost"


async def provide_viewer(request: Request[Any, Any, Any]) -> Viewer:
    principal = await principal_for(request)  # shared with the guard: looked up once
    if principal is None or principal.via != "session":
        raise LoginRequired
    if must_enrol(principal) and request.url.path != PROFILE_PATH:
        raise EnrolRequired
    return Viewer(
        principal=principal,
        visible=await access.visible_inbox_ids(principal.agent),
        tz=timezone(request.cookies.get("tz")),
        host=host_of(request),
        availability=await availability.of(principal.agent.id),
    )


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute URL or `//host` (an open redirect)."""
    if not target:
        return "/inbox"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/inbox"
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return "/inbox"
    return target


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(safe_next(next_path), safe="")


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def to_profile(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if is_htmx(request):
        return Response(
            "", status_code=403, media_type=MediaType.TEXT, headers={"HX-Redirect": PROFILE_PATH}
        )
    return Redirect(PROFILE_PATH, status_code=303)


def to_login(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Full pages redirect; htmx gets 401 and HX-Redirect to the page it was on, not the partial."""
    if is_htmx(request):
        current = urlsplit(request.headers.get("hx-current-url", ""))
        where = current.path + (f"?{current.query}" if current.query else "")
        return Response(
            "",
            status_code=401,
            media_type=MediaType.TEXT,
            headers={"HX-Redirect": login_url(where or "/inbox")},
        )
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if path in ("/", "/inbox"):
        return Redirect("/login", status_code=303)  # the login page continues there anyway
    return Redirect(login_url(path), status_code=303)
