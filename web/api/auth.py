"""Login, logout and the current agent; the second-factor step of a login.

A right password opens a session, or, for an agent with two-factor on, a pending login (its
own cookie, `hub_pending`) that only `POST /api/v1/auth/totp/verify` can turn into a session.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie

from hub.auth import accounts, audit, pending, totp
from hub.auth.accounts import AgentInfo, Principal
from hub.system.config import Settings
from hub.system.services import current
from web.errors import ApiError
from web.realtime import relay
from web.security import CSRF_COOKIE, SESSION_COOKIE, client_ip, must_enrol

PENDING_COOKIE = "hub_pending"


class LoginBody(msgspec.Struct):
    email: str
    password: str


class LoginResult(msgspec.Struct):
    agent: AgentInfo | None
    csrf_token: str
    # True: the password was right; send the code to /api/v1/auth/totp/verify (agent is null).
    two_factor_required: bool = False


class LoginCodeBody(msgspec.Struct):
    code: str


class MeResult(msgspec.Struct):
    agent: AgentInfo
    via: str
    two_factor: bool = False
    two_factor_required: bool = False  # the role requires it and it is not on yet


def _cookie(settings: Settings, key: str, value: str, max_age: int, *, httponly: bool) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        max_age=max_age,
        httponly=httponly,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
        path="/",
    )


def _gone(key: str) -> Cookie:
    return Cookie(key=key, value="", max_age=0, path="/")


async def open_session(
    request: Request[Any, Any, Any], agent: AgentInfo, method: str
) -> tuple[str, list[Cookie]]:
    """A new session for the agent: (CSRF token, cookies), audited as a login."""
    settings = current().settings
    token, csrf = await accounts.create_session(
        agent.id,
        max_age=settings.session_max_age,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        method=method,
    )
    await pending.audit_login(agent.id, method, client_ip(request))
    age = settings.session_max_age
    cookies = [
        _cookie(settings, SESSION_COOKIE, token, age, httponly=True),
        _cookie(settings, CSRF_COOKIE, csrf, age, httponly=False),
        _gone(PENDING_COOKIE),
    ]
    return csrf, cookies


async def first_factor_done(
    request: Request[Any, Any, Any], agent: AgentInfo, method: str
) -> tuple[LoginResult, list[Cookie]]:
    """After a right password or an OIDC sign-in: a session, or the wait for the code."""
    if await pending.needs_second_factor(agent.id):
        token = await pending.start(
            agent.id,
            method=method,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
        cookie = _cookie(
            current().settings, PENDING_COOKIE, token, pending.PENDING_SECONDS, httponly=True
        )
        return LoginResult(agent=None, csrf_token="", two_factor_required=True), [cookie]
    csrf, cookies = await open_session(request, agent, method)
    return LoginResult(agent=agent, csrf_token=csrf), cookies


@post("/api/v1/auth/login", tags=["auth"], status_code=200, access="public")
async def login(request: Request[Any, Any, Any], data: LoginBody) -> Response[LoginResult]:
    """Log in with email and password; sets the session cookie and returns the CSRF token.

    For an agent with two-factor on, the answer is `two_factor_required: true` and no session
    yet: send the code to `POST /api/v1/auth/totp/verify` within 5 minutes.
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
        await pending.audit_failure(
            "throttled",
            client_ip(request),
            email=data.email.strip().lower()[:320],
            method="password",
        )
        raise ApiError(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    except accounts.AuthError as exc:
        await pending.audit_failure(
            "password",
            client_ip(request),
            email=data.email.strip().lower()[:320],
            method="password",
        )
        raise ApiError(401, str(exc), code="bad_credentials") from None
    result, cookies = await first_factor_done(request, agent, "password")
    return Response(result, cookies=cookies)


@post("/api/v1/auth/totp/verify", tags=["auth"], status_code=200, access="public")
async def verify_code(
    request: Request[Any, Any, Any], data: LoginCodeBody
) -> Response[LoginResult]:
    """The second step of a login: a code from the authenticator app, or a recovery code.

    Needs the pending-login cookie the first step set. Wrong codes are throttled like wrong
    passwords; a code already used (the same 30-second step) is refused.
    """
    settings = current().settings
    token = request.cookies.get(PENDING_COOKIE, "")
    found = await pending.find(token) if token else None
    ip = client_ip(request)
    if found is None:
        raise ApiError(401, "the sign-in has expired: log in again", code="no_pending_login")
    limits = pending.throttle_keys(found.agent_id, ip, settings.login_max_attempts)
    if await accounts.throttled(limits, settings.login_window_seconds):
        await pending.audit_failure("throttled", ip, found.agent_id, method="totp")
        raise ApiError(
            429,
            f"too many wrong codes; try again in {settings.login_window_seconds} s",
            headers={"Retry-After": str(settings.login_window_seconds)},
        )
    kind = await totp.check(found.agent_id, data.code, secret_key=settings.secret_key)
    if kind is None:
        await accounts.record_failure(list(limits))
        await pending.audit_failure("totp", ip, found.agent_id, method=found.method)
        raise ApiError(401, "that code is not right (or was used already)", code="bad_code")
    if not await pending.finish(token):
        raise ApiError(401, "the sign-in has expired: log in again", code="no_pending_login")
    agent = await accounts.agent_info(found.agent_id)
    if agent is None:
        raise ApiError(401, "the sign-in has expired: log in again", code="no_pending_login")
    method = f"{found.method}+{'totp' if kind == 'totp' else 'recovery'}"
    csrf, cookies = await open_session(request, agent, method)
    return Response(LoginResult(agent=agent, csrf_token=csrf), cookies=cookies)


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
        cookies=[_gone(SESSION_COOKIE), _gone(CSRF_COOKIE)],
    )


@get("/api/v1/auth/me", tags=["auth"], access="authenticated")
async def me(principal: Principal) -> MeResult:
    """The agent the request is authenticated as, and their two-factor state."""
    return MeResult(
        agent=principal.agent,
        via=principal.via,
        two_factor=principal.two_factor,
        two_factor_required=must_enrol(principal),
    )


handlers = [login, verify_code, logout, me]
