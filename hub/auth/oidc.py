"""OIDC single sign-on: the authorization code flow with PKCE, for any provider with a
discovery document (Google, Keycloak, Entra ID, Authentik, ...).

`begin` makes a state, a nonce and a PKCE verifier; the state goes to the browser (signed
cookie, web.api.login) and to the provider, the rest stays here (`oidc_flow`). `complete` takes
the state back once (the row is marked used in the same statement that finds it), swaps the code
for tokens, checks the id_token's signature against the provider's JWKS and its issuer, audience,
expiry and nonce, then finds the agent: by the identity linked before, else by a verified email
(`email_verified`), else, when the provider allows it, a new agent with its default role.

HTTP goes through the client the caller hands in: the web layer gives one that refuses private
addresses unless HUB_ALLOW_PRIVATE_OIDC_URLS is on (the discovery URL is admin-typed).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from hub.auth import audit, oidc_providers
from hub.auth.accounts import AgentInfo, now
from hub.auth.pending import audit_failure
from hub.db.engine import connection_pool
from hub.system.crypto import sha256_hex
from hub.system.ttlcache import TtlCache

FLOW_SECONDS = 600
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
LEEWAY_SECONDS = 60
_documents: TtlCache[str, dict[str, Any]] = TtlCache(300.0)


class OidcRefused(Exception):
    """The sign-in cannot go on; the message is for the person signing in, `reason` for the log."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def redirect_uri(public_url: str, key: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/auth/oidc/{key}/callback"


async def _get_json(http: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
    cached = _documents.get(url)
    if cached is not None:
        return cached
    try:
        response = await http.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcRefused(
            f"the sign-in provider's {what} could not be read ({type(exc).__name__})",
            f"{what}_unreachable",
        ) from exc
    if not isinstance(document, dict):
        raise OidcRefused(f"the sign-in provider's {what} is not a JSON object", f"{what}_invalid")
    _documents.put(url, document)
    return document


async def discover(http: httpx.AsyncClient, discovery_url: str) -> dict[str, Any]:
    document = await _get_json(http, discovery_url, "discovery document")
    missing = [
        k
        for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(document.get(k), str)
    ]
    if missing:
        _documents.drop(discovery_url)
        raise OidcRefused(
            f"the discovery document has no {', '.join(missing)}: is it an OpenID configuration?",
            "discovery_invalid",
        )
    return document


async def begin(
    key: str, *, next_path: str, http: httpx.AsyncClient, public_url: str
) -> tuple[str, str]:
    """(the provider's authorization URL to redirect to, the state for the browser's cookie)."""
    provider = await oidc_providers.get_provider(key)
    if not provider["enabled"]:
        raise OidcRefused(f"sign-in with {provider['name']} is turned off", "provider_disabled")
    meta = await discover(http, provider["discovery_url"])
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    await connection_pool().execute(
        "INSERT INTO oidc_flow (state_sha256, provider, nonce, code_verifier, next, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        sha256_hex(state),
        provider["id"],
        nonce,
        verifier,
        next_path,
        now() + dt.timedelta(seconds=FLOW_SECONDS),
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": provider["client_id"],
            "redirect_uri": redirect_uri(public_url, key),
            "scope": provider["scopes"],
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    endpoint = meta["authorization_endpoint"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", state


async def _take_flow(state: str, provider_id: int) -> dict[str, Any]:
    row = await connection_pool().fetchrow(
        "UPDATE oidc_flow SET used_at = now() WHERE state_sha256 = $1 AND used_at IS NULL"
        " AND expires_at > now() RETURNING provider, nonce, code_verifier, next",
        sha256_hex(state),
    )
    if row is None:
        raise OidcRefused(
            "this sign-in was used already or has expired: start again from the login page",
            "state_used_or_expired",
        )
    if row["provider"] != provider_id:
        raise OidcRefused("this sign-in was started with another provider", "state_provider")
    return dict(row)


async def _tokens(
    http: httpx.AsyncClient, meta: dict[str, Any], provider: dict[str, Any], form: dict[str, str]
) -> dict[str, Any]:
    methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth: Any = httpx.USE_CLIENT_DEFAULT
    if "client_secret_basic" in methods:
        auth = httpx.BasicAuth(provider["client_id"], provider["client_secret"])
    else:
        form = form | {
            "client_id": provider["client_id"],
            "client_secret": provider["client_secret"],
        }
    try:
        response = await http.post(meta["token_endpoint"], data=form, auth=auth)
        body: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcRefused(
            "the sign-in provider did not answer the token request", "token_unreachable"
        ) from exc
    if response.status_code != 200 or not isinstance(body.get("id_token"), str):
        error = str(body.get("error") or response.status_code) if isinstance(body, dict) else ""
        raise OidcRefused(
            f"the sign-in provider refused the code ({error[:60]}): start again", "token_refused"
        )
    return body


async def _claims(
    http: httpx.AsyncClient,
    meta: dict[str, Any],
    provider: dict[str, Any],
    id_token: str,
    nonce: str,
) -> dict[str, Any]:
    jwks_url = meta["jwks_uri"]
    for attempt in (1, 2):
        keys = KeySet.import_key_set(await _get_json(http, jwks_url, "signing keys"))  # type: ignore[arg-type]
        try:
            token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
            break
        except (JoseError, ValueError) as exc:
            if attempt == 1:  # a key rotated since the keys were cached: read them again
                _documents.drop(jwks_url)
                continue
            raise OidcRefused(
                "the sign-in provider's answer is not validly signed", "id_token_signature"
            ) from exc
    claims: dict[str, Any] = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": meta["issuer"]},
        sub={"essential": True},
        exp={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise OidcRefused(
            f"the sign-in provider's answer is not valid ({exc.error})", f"id_token_{exc.error}"
        ) from exc
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if provider["client_id"] not in audiences or (
        len(audiences) > 1 and claims.get("azp") != provider["client_id"]
    ):
        raise OidcRefused("the sign-in provider's answer was meant for another application", "aud")
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise OidcRefused("the sign-in provider's answer does not belong to this sign-in", "nonce")
    return claims


async def _agent_for(provider: dict[str, Any], claims: dict[str, Any]) -> AgentInfo:
    pool = connection_pool()
    subject = str(claims["sub"])
    email = str(claims.get("email") or "").strip().lower()
    verified = claims.get("email_verified") in (True, "true")
    linked = await pool.fetchrow(
        "SELECT a.id, a.name, a.email, a.role, a.active FROM agent_identity i JOIN agent a"
        " ON a.id = i.agent WHERE i.provider = $1 AND i.subject = $2",
        provider["id"],
        subject,
    )
    if linked is None:
        if not email or not verified:
            raise OidcRefused(
                "the sign-in provider did not confirm that this email address is yours"
                " (email_verified): ask an admin",
                "email_unverified",
            )
        linked = await pool.fetchrow(
            "SELECT id, name, email, role, active FROM agent WHERE email = $1", email
        )
        if linked is None and provider["auto_provision"]:
            name = str(claims.get("name") or "").strip()[:200] or email.split("@")[0].title()
            linked = await pool.fetchrow(
                "INSERT INTO agent (email, name, password_hash, role, active, availability,"
                " created_at) VALUES ($1, $2, '', $3, true, 'away', now()) ON CONFLICT (email)"
                " DO UPDATE SET email = EXCLUDED.email RETURNING id, name, email, role, active",
                email,
                name,
                provider["default_role"],
            )
            await audit.record(
                "agent.provision", actor_id=None, actor_type="system", target_type="agent",
                target_id=linked["id"] if linked else None,
                data={"email": email, "provider": provider["key"], "role": provider["default_role"]},
            )  # fmt: skip
        if linked is None:
            raise OidcRefused(
                f"there is no agent with the email {email}: ask an admin to invite you", "no_agent"
            )
        await pool.execute(
            "INSERT INTO agent_identity (provider, subject, agent, email) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (provider, subject) DO NOTHING",
            provider["id"],
            subject,
            linked["id"],
            email,
        )
    if not linked["active"]:
        raise OidcRefused("this agent is deactivated", "agent_inactive")
    await pool.execute(
        "UPDATE agent_identity SET last_login_at = now() WHERE provider = $1 AND subject = $2",
        provider["id"],
        subject,
    )
    return AgentInfo(
        id=linked["id"], name=linked["name"], email=linked["email"], role=linked["role"]
    )


async def complete(
    key: str,
    *,
    state: str,
    cookie_state: str,
    code: str,
    http: httpx.AsyncClient,
    public_url: str,
    secret_key: str,
    ip: str,
) -> tuple[AgentInfo, str]:
    """The agent who signed in and the path to continue to; OidcRefused (audited) if not."""
    try:
        if not state or not cookie_state or not secrets.compare_digest(state, cookie_state):
            raise OidcRefused(
                "this sign-in did not start in this browser: start again from the login page",
                "state_mismatch",
            )
        provider = await oidc_providers.get_provider(key, secret_key=secret_key)
        flow = await _take_flow(state, provider["id"])
        if not code:
            raise OidcRefused("the sign-in provider sent no code: start again", "no_code")
        meta = await discover(http, provider["discovery_url"])
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri(public_url, key),
            "code_verifier": flow["code_verifier"],
        }
        tokens = await _tokens(http, meta, provider, form)
        claims = await _claims(http, meta, provider, tokens["id_token"], flow["nonce"])
        agent = await _agent_for(provider, claims)
    except OidcRefused as exc:
        await audit_failure(exc.reason, ip, method=f"oidc:{key}", message=str(exc))
        raise
    return agent, str(flow["next"])
