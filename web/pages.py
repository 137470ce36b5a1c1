"""The login and set-password pages, plus the inbox pages (web.inbox, which also serves the site root), mounted
by app.py from here."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler

from hub.auth import oidc_providers, pending
from web import inbox
from web.api.auth import PENDING_COOKIE
from web.inbox.render import html
from web.inbox.viewer import host_of, safe_next
from web.security import principal_from


@get("/login", include_in_schema=False, access="public")
async def login_page(request: Request[Any, Any, Any]) -> Response[str] | Redirect:
    """The login form; `next` (a path on this site) is where a successful login continues."""
    target = safe_next(request.query_params.get("next"))
    principal = await principal_from(request)
    if principal is not None and principal.via == "session":
        return Redirect(target, status_code=303)
    waiting = request.cookies.get(PENDING_COOKIE, "")
    step = "code" if waiting and await pending.find(waiting) is not None else "password"
    providers = await oidc_providers.list_providers(enabled_only=True)
    context = {"next": target, "step": step, "providers": providers}
    return html("login.html", context, host=host_of(request))


@get("/set-password", include_in_schema=False, access="public")
async def set_password_page(request: Request[Any, Any, Any]) -> Response[str]:
    """The invitation link: choose a password (the token stays in the page, never in a log)."""
    token = request.query_params.get("token", "")[:200]
    return html("set_password.html", {"token": token}, host=host_of(request))


@get("/forgot-password", include_in_schema=False, access="public")
async def forgot_password_page(request: Request[Any, Any, Any]) -> Response[str]:
    return html("forgot_password.html", {}, host=host_of(request))


@get("/reset-password", include_in_schema=False, access="public")
async def reset_password_page(request: Request[Any, Any, Any]) -> Response[str]:
    """A reset link from the mail: choose a new password (the token stays in the page)."""
    token = request.query_params.get("token", "")[:200]
    return html("reset_password.html", {"token": token}, host=host_of(request))


handlers: list[ControllerRouterHandler] = [
    login_page,
    set_password_page,
    forgot_password_page,
    reset_password_page,
    *inbox.handlers,
]
