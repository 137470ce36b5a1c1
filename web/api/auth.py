"""Login, logout and the current agent."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie

from hub.auth import accounts, audit
from hub.auth.accounts import AgentInfo, Principal
from hub.system.services import current
from web.errors import ApiError
from web.realtime import relay
from web.security import CSRF_COOKIE, SESSION_COOKIE, client_ip


class LoginBody(msgspec.Struct):
    email: str
    password: str


class LoginResult(msgspec.Struct):
    agent: AgentInfo
    csrf_token: str


class MeResult(msgspec.Struct):
    agent: AgentInfo
    via: str


@post("/api/v1/auth/login", tags=["auth"], status_code=200, access="public")
async def login(request: Request[Any, Any, Any], data: LoginBody) -> Response[LoginResult]:
    """Log in with email and password; sets the session cookie and returns the CSRF token.

    Repeated failures for one email or from one address are answered 429 for a while.
    """
    settings = current().settings
    try:
        agent = await accounts.authenticate(
            data.email,
            data.password,
            client=client_ip(request),
            max_attempts=settings.login_max_attempts,
            window=settings.login_window_seconds,
        )
    except accounts.LoginThrottled as exc:
        await _failed_login(data.email, "throttled")
        raise ApiError(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    except accounts.AuthError as exc:
        await _failed_login(data.email, "password")
        raise ApiError(401, str(exc), code="bad_credentials") from None
    await audit.record(
        "login", actor_id=agent.id, target_type="agent", target_id=agent.id,
        data={"method": "password"},
    )  # fmt: skip
    token, csrf = await accounts.create_session(
        agent.id,
        max_age=settings.session_max_age,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    secure = settings.public_url.startswith("https://")
    cookies = [
        Cookie(
            key=SESSION_COOKIE,
            value=token,
            max_age=settings.session_max_age,
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        ),
        Cookie(
            key=CSRF_COOKIE,
            value=csrf,
            max_age=settings.session_max_age,
            httponly=False,
            samesite="lax",
            secure=secure,
            path="/",
        ),
    ]
    return Response(LoginResult(agent=agent, csrf_token=csrf), cookies=cookies)


async def _failed_login(email: str, reason: str) -> None:
    # The address typed is kept (cut short): it shows who was targeted, known account or not.
    await audit.record(
        "login.failed", actor_id=None, actor_type="anonymous",
        data={"email": email.strip().lower()[:320], "reason": reason, "method": "password"},
    )  # fmt: skip


@post("/api/v1/auth/logout", tags=["auth"], status_code=204, access="authenticated")
async def logout(principal: Principal) -> Response[None]:
    """End the current session (a no-op for API keys, which are revoked instead)."""
    if principal.session_token_hash:
        await accounts.end_session(principal.session_token_hash)
        await audit.record("logout", actor_id=principal.agent.id)
        relay.recheck_access()  # this session's sockets close now
    return Response(
        None,
        status_code=204,
        cookies=[
            Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/"),
            Cookie(key=CSRF_COOKIE, value="", max_age=0, path="/"),
        ],
    )


@get("/api/v1/auth/me", tags=["auth"], access="authenticated")
async def me(principal: Principal) -> MeResult:
    """The agent the request is authenticated as."""
    return MeResult(agent=principal.agent, via=principal.via)
