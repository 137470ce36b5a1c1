"""Security headers on every response, and cookie flags that follow the request's scheme.

Pages that need a different policy (the inbox's live socket, sandboxed attachments) set their own
Content-Security-Policy; every other response gets the strict default below. HSTS is sent only
over TLS, which behind a reverse proxy means the trusted proxy's X-Forwarded-Proto (web.proxies
runs first and rewrites the scheme): sending it over plain HTTP is meaningless, and sending it
on a developer's http://127.0.0.1 would be ignored anyway.
"""

from __future__ import annotations

from litestar.types import Message, Scope

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self';"
    " object-src 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
_DEFAULTS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", DEFAULT_CSP.encode()),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def _secure_cookie(value: bytes) -> bytes:
    flags = [part.strip().lower() for part in value.split(b";")[1:]]
    return value if b"secure" in flags else value + b"; Secure"


def with_headers(headers: list[tuple[bytes, bytes]], *, tls: bool) -> list[tuple[bytes, bytes]]:
    """The response's headers plus the defaults it does not set itself."""
    present = {name.lower() for name, _ in headers}
    out = [
        (name, _secure_cookie(value) if tls and name.lower() == b"set-cookie" else value)
        for name, value in headers
    ]
    out.extend((name, value) for name, value in _DEFAULTS if name not in present)
    if tls and b"strict-transport-security" not in present:
        out.append((b"strict-transport-security", HSTS.encode()))
    return out


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Litestar `before_send` hook: it sees every response, 404s for unknown paths included
    (route middleware does not), after web.proxies has set the scheme for trusted proxies."""
    if message["type"] == "http.response.start":
        tls = scope.get("scheme") == "https"
        message["headers"] = with_headers(list(message.get("headers", [])), tls=tls)
