"""Single sign-on (OIDC) and password reset: the routes a person reaches before logging in.

`GET /api/v1/auth/oidc/{key}/login` redirects to the provider with a fresh state, which the
browser also keeps in a signed cookie; the provider sends the browser back to `.../callback`,
which only goes on when the state there is the one in this browser's cookie.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect

from hub.auth import oidc, reset
from hub.auth.pending import audit_failure
from hub.jobs.registry import enqueue
from hub.system import netguard
from hub.system.crypto import sign, verify
from hub.system.services import current
from web.api.auth import first_factor_done
from web.errors import ApiError
from web.inbox.render import html
from web.inbox.viewer import host_of, safe_next
from web.realtime import relay
from web.security import client_ip

STATE_COOKIE = "hub_oidc"
STATE_PATH = "/api/v1/auth/oidc/"
_PURPOSE = "hub.oidc-state"


class ResetRequestBody(msgspec.Struct):
    email: str


class ResetBody(msgspec.Struct):
    token: str
    password: str


def oidc_http() -> httpx.AsyncClient:
    """For the provider's URLs: no private addresses unless HUB_ALLOW_PRIVATE_OIDC_URLS."""
    return netguard.client(
        allow_private=current().settings.allow_private_oidc_urls,
        timeout=httpx.Timeout(10.0, connect=5.0),
    )


def _state_cookie(value: str, max_age: int) -> Cookie:
    settings = current().settings
    return Cookie(
        key=STATE_COOKIE,
        value=value,
        max_age=max_age,
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back, not on sub-requests
        secure=settings.public_url.startswith("https://"),
        path=STATE_PATH,
    )


def _cookie_state(request: Request[Any, Any, Any]) -> str:
    raw = request.cookies.get(STATE_COOKIE, "")
    state, _, mac = raw.rpartition(".")
    if not state or not verify(current().settings.secret_key, _PURPOSE, state.encode(), mac):
        return ""
    return state


@get(
    "/api/v1/auth/oidc/{key:str}/login",
    tags=["auth"],
    status_code=302,
    access="public",
    include_in_schema=False,  # a browser flow: redirects and login pages, not JSON
)
async def oidc_login(request: Request[Any, Any, Any], key: str) -> Response[Any]:
    """Start signing in with a provider: a redirect to it (`next`: where to go afterwards)."""
    settings = current().settings
    try:
        async with oidc_http() as http:
            url, state = await oidc.begin(
                key,
                next_path=safe_next(request.query_params.get("next")),
                http=http,
                public_url=settings.public_url,
            )
    except oidc.OidcRefused as exc:
        return _refused(request, str(exc))
    mac = sign(settings.secret_key, _PURPOSE, state.encode())
    return Redirect(
        url, status_code=302, cookies=[_state_cookie(f"{state}.{mac}", oidc.FLOW_SECONDS)]
    )


def _refused(request: Request[Any, Any, Any], message: str) -> Response[str]:
    """The login page again, saying why (rendered here: a message in a URL could be forged)."""
    context = {"next": "/inbox", "error": message, "providers": []}
    response = html("login.html", context, host=host_of(request), status=400)
    response.cookies.append(_state_cookie("", 0))
    return response


@get(
    "/api/v1/auth/oidc/{key:str}/callback",
    tags=["auth"],
    status_code=302,
    access="public",
    include_in_schema=False,  # a browser flow: redirects and login pages, not JSON
)
async def oidc_callback(request: Request[Any, Any, Any], key: str) -> Response[Any]:
    """Where the provider sends the browser back: sign in, then continue (or ask for the code)."""
    settings = current().settings
    params = request.query_params
    if params.get("error"):
        error = str(params.get("error"))[:60]
        await audit_failure("provider_error", client_ip(request), method=f"oidc:{key}", error=error)
        return _refused(request, f"the sign-in provider did not sign you in ({error})")
    try:
        async with oidc_http() as http:
            agent, next_path = await oidc.complete(
                key,
                state=str(params.get("state", "")),
                cookie_state=_cookie_state(request),
                code=str(params.get("code", "")),
                http=http,
                public_url=settings.public_url,
                secret_key=settings.secret_key,
                ip=client_ip(request),
            )
    except oidc.OidcRefused as exc:
        return _refused(request, str(exc))
    result, cookies = await first_factor_done(request, agent, f"oidc:{key}")
    cookies.append(_state_cookie("", 0))
    if result.two_factor_required:
        target = "/login?step=code&next=" + quote(next_path, safe="")
    else:
        target = next_path
    return Redirect(target, status_code=303, cookies=cookies)


@post("/api/v1/auth/password-reset", tags=["auth"], status_code=202, access="public")
async def request_password_reset(
    request: Request[Any, Any, Any], data: ResetRequestBody
) -> dict[str, str]:
    """Ask for a reset link by email. The answer is the same whether an agent has this address
    or not; more than 3 requests an hour for an address, or 20 from a client, are answered 429."""
    ip = client_ip(request)
    try:
        email = await reset.request_reset(data.email, client=ip)
    except reset.ResetThrottled as exc:
        raise ApiError(429, str(exc), headers={"Retry-After": "3600"}) from None
    await enqueue(current().queue, "send_password_reset", email=email, ip=ip)
    return {"status": "accepted", "message": "if this address is an agent's, a link is on its way"}


@post("/api/v1/auth/password-reset/confirm", tags=["auth"], status_code=200, access="public")
async def confirm_password_reset(
    request: Request[Any, Any, Any], data: ResetBody
) -> dict[str, str]:
    """Set a new password with the token of a reset link (once, before it expires). Every
    session of the agent ends; log in with the new password."""
    try:
        await reset.use_link(data.token, data.password, ip=client_ip(request))
    except reset.InvalidReset as exc:
        raise ApiError(400, str(exc), code="invalid_reset_link") from None
    relay.recheck_access()  # the agent's sockets close now
    return {"status": "password_set"}


handlers = [oidc_login, oidc_callback, request_password_reset, confirm_password_reset]
