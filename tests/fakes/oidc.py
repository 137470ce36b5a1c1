"""A contract fake of an OpenID Connect provider (what Google and Keycloak speak).

Discovery (`/.well-known/openid-configuration`), the authorization endpoint (it signs in
whoever the test put in `next_user`, as a real provider would after its login form, and
redirects back with `code` and `state`), the token endpoint (client_secret_basic, single-use
codes, the redirect_uri and the PKCE S256 verifier checked as RFC 6749/7636 say) and the JWKS.
id_tokens are real RS256 JWTs signed with a key made per fake. A test can change the claims of
the next id_token (`override`), sign it with a key not in the JWKS (`sign_with_stranger`), or
make the token endpoint refuse.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar, Request, Response, get, post
from litestar.response import Redirect


def _key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class FakeOidc:
    client_id: str = "hub-client"
    client_secret: str = "hub-client-secret"
    issuer: str = ""  # set once served (the base URL)
    # login → the user's claims (sub, email, email_verified, name)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_user: str = ""
    override: dict[str, Any] = field(default_factory=dict)  # claims of the next id_token
    sign_with_stranger: bool = False
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _used: set[str] = field(default_factory=set)
    _signing: RSAKey = field(default_factory=lambda: _key("fake-1"))
    _stranger: RSAKey = field(default_factory=lambda: _key("fake-1"))  # same kid, other key

    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def id_token(self, claims: dict[str, Any]) -> str:
        key = self._stranger if self.sign_with_stranger else self._signing
        return jwt.encode({"alg": "RS256", "kid": "fake-1", "typ": "JWT"}, claims, key)

    def app(self) -> Litestar:
        @get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }

        @get("/jwks")
        async def jwks() -> dict[str, Any]:
            return {"keys": [self._signing.as_dict(private=False)]}

        @get("/authorize", status_code=302)
        async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
            q = request.query_params
            if q.get("client_id") != self.client_id or q.get("response_type") != "code":
                return Response({"error": "unauthorized_client"}, status_code=400)
            if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                return Response({"error": "invalid_request", "why": "PKCE"}, status_code=400)
            if "openid" not in str(q.get("scope", "")).split():
                return Response({"error": "invalid_scope"}, status_code=400)
            user = self.users[self.next_user]
            code = secrets.token_urlsafe(16)
            self._codes[code] = {
                "user": user,
                "nonce": q.get("nonce"),
                "challenge": q.get("code_challenge"),
                "redirect_uri": q.get("redirect_uri"),
            }
            back = urlencode({"code": code, "state": q.get("state", "")})
            return Redirect(f"{q.get('redirect_uri')}?{back}", status_code=302)

        @post("/token", status_code=200)
        async def token(request: Request[Any, Any, Any]) -> Response[Any]:
            form = dict(await request.form())
            self.token_requests.append(form)
            expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {expected}":
                return Response({"error": "invalid_client"}, status_code=401)
            code = str(form.get("code", ""))
            if code in self._used or code not in self._codes:
                return Response({"error": "invalid_grant"}, status_code=400)
            self._used.add(code)  # a code works once, replayed or not
            grant = self._codes.pop(code)
            if form.get("redirect_uri") != grant["redirect_uri"]:
                return Response({"error": "invalid_grant", "why": "redirect_uri"}, status_code=400)
            verifier = str(form.get("code_verifier", "")).encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if digest.decode() != grant["challenge"]:
                return Response({"error": "invalid_grant", "why": "PKCE"}, status_code=400)
            now = int(time.time())
            claims = {
                "iss": self.issuer,
                "aud": self.client_id,
                "iat": now,
                "exp": now + 300,
                "nonce": grant["nonce"],
                **grant["user"],
                **self.override,
            }
            return Response(
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": self.id_token(claims),
                }
            )

        return Litestar(route_handlers=[discovery, jwks, authorize, token], logging_config=None)
