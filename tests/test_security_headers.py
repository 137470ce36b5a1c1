"""Every page and API answer carries the security headers; cookies follow the request's scheme."""

from __future__ import annotations

import re

import httpx
from litestar import Litestar

from tests.conftest import login, make_agent, serving, with_settings

Client = httpx.AsyncClient
UNSAFE = ("'unsafe-inline'", "'unsafe-eval'", "*")


def _get_paths(app: Litestar) -> list[str]:
    """Every GET route of the app, path parameters filled with 1 (a 404 is still an answer)."""
    paths: set[str] = set()
    for route in app.routes:
        methods = getattr(route, "methods", set())
        if "GET" not in methods or route.path.startswith("/static"):
            continue
        paths.add(re.sub(r"\{[^}]+\}", "1", route.path))
    return sorted(paths)


def _check(response: httpx.Response, path: str) -> None:
    csp = response.headers.get("content-security-policy", "")
    assert csp, f"{path}: no Content-Security-Policy"
    directives: dict[str, str] = {}
    for part in (d.strip() for d in csp.split(";")):
        name, _, sources = part.partition(" ")
        if name:
            directives[name] = sources
    if directives.get("sandbox") is None:  # a sandboxed file cannot run script at all
        assert directives.get("frame-ancestors") == "'none'", f"{path}: {csp}"
        for name in ("script-src", "style-src", "default-src"):
            sources = directives.get(name, "").split()
            assert not any(bad in sources for bad in UNSAFE), f"{path}: {name} {sources}"
    assert response.headers.get("referrer-policy") in ("same-origin", "no-referrer"), path
    assert response.headers.get("x-content-type-options") == "nosniff", path
    assert "strict-transport-security" not in response.headers, f"{path}: HSTS over plain HTTP"


async def test_every_get_route_has_the_headers(app: Litestar, client: Client) -> None:
    await make_agent("headers@example.com", role="admin")
    await login(client, "headers@example.com")
    paths = _get_paths(app)
    assert {"/inbox", "/schema", "/api/v1/conversations", "/login"} <= set(paths)
    statuses = {}
    for path in paths:
        response = await client.get(path, follow_redirects=False)
        statuses[path] = response.status_code
        _check(response, path)
    # The walk saw real pages, not only 404s: the inbox and the API answered with content.
    assert statuses["/inbox"] == 200 and statuses["/api/v1/conversations"] == 200
    anonymous = httpx.AsyncClient(base_url=str(client.base_url))
    async with anonymous:
        for path in ("/login", "/api/v1/conversations", "/nowhere", "/health"):
            _check(await anonymous.get(path), path)


async def test_session_cookies_are_httponly_and_samesite(client: Client) -> None:
    await make_agent("cookie@example.com")
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": "cookie@example.com", "password": "correct horse battery"},
    )
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("hub_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Secure" not in session


async def test_behind_tls_hsts_and_secure_cookies(settings) -> None:  # type: ignore[no-untyped-def]
    from web.app import create_app

    app = create_app(with_settings(settings, trusted_proxies=("127.0.0.1",)), run_worker=True)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:
        await make_agent("tls@example.com")
        tls = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9"}
        response = await http.post(
            "/api/v1/auth/login",
            json={"email": "tls@example.com", "password": "correct horse battery"},
            headers=tls,
        )
        assert response.status_code == 200
        assert response.headers["strict-transport-security"].startswith("max-age=")
        for cookie in response.headers.get_list("set-cookie"):
            assert "Secure" in cookie, cookie
        page = await http.get("/login", headers=tls)
        assert "max-age=" in page.headers["strict-transport-security"]
        # Plain HTTP through the same proxy: no HSTS.
        plain = await http.get("/login", headers={"x-forwarded-proto": "http"})
        assert "strict-transport-security" not in plain.headers


async def test_forwarded_proto_from_an_untrusted_peer_is_ignored(client: Client) -> None:
    response = await client.get("/login", headers={"x-forwarded-proto": "https"})
    assert "strict-transport-security" not in response.headers


async def test_openapi_ui_uses_only_local_files(client: Client) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200
    assert "<script>" not in page.text and "http" not in page.text.split("<body>")[0].replace(
        "http-equiv", ""
    )
    for src in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert src.startswith("/static/"), src
        assert (await client.get(src)).status_code == 200, src
