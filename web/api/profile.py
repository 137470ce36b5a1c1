"""The signed-in agent's own security: two-factor enrolment, password change, sessions; and the
admin's OIDC provider settings."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import Cookie

from hub.auth import oidc, oidc_providers, reset, sessions, totp
from hub.auth.accounts import Principal
from hub.auth.oidc_providers import NewProvider, ProviderChanges
from hub.auth.permissions import Permission
from hub.system.services import current
from web.api.login import oidc_http
from web.errors import ApiError
from web.realtime import relay
from web.security import CSRF_COOKIE, SESSION_COOKIE, client_ip


class EnrolCodeBody(msgspec.Struct):
    code: str


class DisableBody(msgspec.Struct):
    password: str
    code: str


class PasswordChangeBody(msgspec.Struct):
    current_password: str
    new_password: str


def _own_session(principal: Principal) -> None:
    if principal.via != "session":
        raise ApiError(403, "only a browser session can change its own login security")


@get("/api/v1/auth/totp", tags=["auth"], access="authenticated")
async def totp_status(principal: Principal) -> dict[str, Any]:
    """Whether two-factor is on, and how many recovery codes are left."""
    return await totp.status(principal.agent.id)


@post("/api/v1/auth/totp/enrol", tags=["auth"], status_code=200, access="authenticated")
async def totp_enrol(principal: Principal) -> dict[str, str]:
    """A new TOTP seed: scan `qr_svg` (or type `secret`) into an authenticator app, then send a
    code to `/api/v1/auth/totp/confirm`. Until then two-factor is not on."""
    _own_session(principal)
    return await totp.start_enrolment(
        principal.agent.id, principal.agent.email, secret_key=current().settings.secret_key
    )


@post("/api/v1/auth/totp/confirm", tags=["auth"], status_code=200, access="authenticated")
async def totp_confirm(
    request: Request[Any, Any, Any], principal: Principal, data: EnrolCodeBody
) -> dict[str, Any]:
    """The first code from the app turns two-factor on. The answer carries 10 recovery codes,
    shown this once (each works once instead of a code)."""
    _own_session(principal)
    codes = await totp.confirm(
        principal.agent.id,
        data.code,
        secret_key=current().settings.secret_key,
        ip=client_ip(request),
    )
    return {"enabled": True, "recovery_codes": codes}


@post("/api/v1/auth/totp/disable", tags=["auth"], status_code=200, access="authenticated")
async def totp_disable(
    request: Request[Any, Any, Any], principal: Principal, data: DisableBody
) -> dict[str, Any]:
    """Turn two-factor off: the password and a current code (or a recovery code)."""
    _own_session(principal)
    await totp.disable(
        principal.agent.id,
        password=data.password,
        code=data.code,
        secret_key=current().settings.secret_key,
        ip=client_ip(request),
    )
    return {"enabled": False}


@post("/api/v1/auth/password", tags=["auth"], status_code=200, access="authenticated")
async def change_password(
    request: Request[Any, Any, Any], principal: Principal, data: PasswordChangeBody
) -> Response[dict[str, str]]:
    """Change your password (the current one again). Every session ends, this one too."""
    _own_session(principal)
    await reset.change_password(
        principal.agent.id, data.current_password, data.new_password, ip=client_ip(request)
    )
    relay.recheck_access()
    gone = [Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")]
    gone.append(Cookie(key=CSRF_COOKIE, value="", max_age=0, path="/"))
    return Response({"status": "password_changed"}, cookies=gone)


@get("/api/v1/auth/sessions", tags=["auth"], access="authenticated")
async def list_sessions(principal: Principal) -> list[dict[str, Any]]:
    """Your sessions: created, last seen, client address, user agent, and which is this one."""
    return await sessions.list_sessions(principal.agent.id, current_id=principal.session_id)


@delete(
    "/api/v1/auth/sessions/{session_id:int}", tags=["auth"], status_code=204, access="authenticated"
)
async def revoke_session(
    request: Request[Any, Any, Any], principal: Principal, session_id: int
) -> None:
    """End one of your sessions (its sockets close within seconds)."""
    if not await sessions.revoke(principal.agent.id, session_id, ip=client_ip(request)):
        raise ApiError(404, f"no session {session_id}")
    relay.recheck_access()


@post("/api/v1/auth/sessions/revoke-others", tags=["auth"], status_code=200, access="authenticated")
async def revoke_other_sessions(
    request: Request[Any, Any, Any], principal: Principal
) -> dict[str, int]:
    """End every session of yours but this one."""
    _own_session(principal)
    count = await sessions.revoke_others(
        principal.agent.id, current_id=principal.session_id, ip=client_ip(request)
    )
    relay.recheck_access()
    return {"revoked": count}


@get("/api/v1/auth/oidc/providers", tags=["auth"], permission=Permission.MANAGE_AGENTS)
async def list_providers(principal: Principal) -> list[dict[str, Any]]:
    """The configured OIDC providers (client secrets are never shown)."""
    base = current().settings.public_url
    rows = await oidc_providers.list_providers()
    return [r | {"redirect_uri": oidc.redirect_uri(base, r["key"])} for r in rows]


@post(
    "/api/v1/auth/oidc/providers",
    tags=["auth"],
    status_code=201,
    permission=Permission.MANAGE_AGENTS,
)
async def create_provider(principal: Principal, data: NewProvider) -> dict[str, Any]:
    """Add a provider. Its discovery URL is read now, so a wrong one is refused at once."""
    oidc_providers.check_fields(
        key=data.key,
        name=data.name,
        discovery_url=data.discovery_url,
        scopes=data.scopes,
        default_role=data.default_role,
    )
    await _check_discovery(data.discovery_url)
    settings = current().settings
    row = await oidc_providers.create_provider(
        data, secret_key=settings.secret_key, actor_id=principal.agent.id
    )
    return row | {"redirect_uri": oidc.redirect_uri(settings.public_url, row["key"])}


async def _check_discovery(url: str) -> None:
    try:
        async with oidc_http() as http:
            await oidc.discover(http, url)
    except oidc.OidcRefused as exc:
        raise ApiError(422, f"discovery_url: {exc}", code="invalid_provider") from None


@patch("/api/v1/auth/oidc/providers/{key:str}", tags=["auth"], permission=Permission.MANAGE_AGENTS)
async def update_provider(principal: Principal, key: str, data: ProviderChanges) -> dict[str, Any]:
    if data.discovery_url is not None:
        oidc_providers.check_fields(
            key=None, name=None, discovery_url=data.discovery_url, scopes=None
        )
        await _check_discovery(data.discovery_url)
    return await oidc_providers.update_provider(
        key, data, secret_key=current().settings.secret_key, actor_id=principal.agent.id
    )


@delete(
    "/api/v1/auth/oidc/providers/{key:str}",
    tags=["auth"],
    status_code=204,
    permission=Permission.MANAGE_AGENTS,
)
async def delete_provider(principal: Principal, key: str) -> None:
    """Remove a provider; agents linked through it keep their accounts."""
    await oidc_providers.delete_provider(key, actor_id=principal.agent.id)


handlers = [
    totp_status,
    totp_enrol,
    totp_confirm,
    totp_disable,
    change_password,
    list_sessions,
    revoke_session,
    revoke_other_sessions,
    list_providers,
    create_provider,
    update_provider,
    delete_provider,
]
