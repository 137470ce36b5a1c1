"""Server-rendered pages: the login page and the signed-in landing page."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template

from web.security import principal_from


@get("/login", include_in_schema=False)
async def login_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    if await principal_from(request) is not None:
        return Redirect("/")
    return Template("login.html", context={"next": request.query_params.get("next", "/")})


@get("/", include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Template | Redirect:
    principal = await principal_from(request)
    if principal is None or principal.via != "session":
        return Redirect("/login")
    return Template("home.html", context={"agent": principal.agent, "csrf": principal.csrf_token})


handlers = [login_page, home]
