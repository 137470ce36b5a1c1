"""Issue 19: every route declares what it needs, and every route that needs a permission refuses
a role without it. Routes come from the app itself and its OpenAPI document, so a route added
later is walked (or flagged) without touching this file."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import websockets
from litestar import Litestar
from litestar.handlers import BaseRouteHandler

from hub.auth.permissions import Permission
from tests.access.helpers import agent_with, make_role
from tests.conftest import admin_key, inbound, login, make_api_inbox
from web.security import ACCESS_LEVELS

# Litestar's own schema pages: served by the framework, not by the hub.
_FRAMEWORK = ("litestar._openapi", "litestar.openapi")


def _handlers(app: Litestar) -> list[tuple[str, str, BaseRouteHandler]]:
    """(path template, method, handler) for every route of the app, sockets and pages included."""
    found = []
    for route in app.routes:
        handlers = getattr(route, "route_handlers", None) or [route.route_handler]  # type: ignore[attr-defined]
        for handler in handlers:
            if handler.handler_name == "options_handler":
                continue
            if handler.fn.__module__.startswith(_FRAMEWORK):
                continue
            for method in sorted(getattr(handler, "http_methods", None) or {"WS"}):
                found.append((route.path, method, handler))
    return found


def _openapi_path(path: str) -> str:
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)


def _concrete(path: str) -> str:
    """A path to call: ids that exist nowhere, so a permitted call changes nothing."""
    return re.sub(r"\{(\w+)(?::(\w+))?\}", lambda m: "x" if m.group(2) == "str" else "999999", path)


async def test_every_route_declares_a_permission_or_its_access(app: Litestar) -> None:
    undeclared = [
        f"{method} {path} ({handler.fn.__module__}.{handler.handler_name})"
        for path, method, handler in _handlers(app)
        if not isinstance(handler.opt.get("permission"), Permission)
        and handler.opt.get("access") not in ACCESS_LEVELS
    ]
    assert not undeclared, (
        'routes without `permission=Permission.X` or `access="public"|"authenticated"`'
        " (web.security): " + ", ".join(undeclared)
    )
    # The ones that look like they need a session say so: nothing is public by accident.
    public = {p for p, _, h in _handlers(app) if h.opt.get("access") == "public"}
    assert not {p for p in public if p.startswith(("/api/v1/conversations", "/admin", "/inbox"))}


async def test_each_route_refuses_a_role_without_its_permission(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    admin = await admin_key(client)
    document = (await client.get("/schema/openapi.json")).json()
    by_operation = {(_openapi_path(p), m): h for p, m, h in _handlers(app)}
    lacking: dict[Permission, dict[str, str]] = {}
    everything = (await agent_with(await make_role(client, admin, {p.value for p in Permission})))[
        1
    ]

    async def without(permission: Permission) -> dict[str, str]:
        if permission not in lacking:
            role = await make_role(client, admin, {p.value for p in Permission} - {permission})
            lacking[permission] = (await agent_with(role))[1]
        return lacking[permission]

    walked: dict[Permission, list[str]] = {}
    for path, operations in document["paths"].items():
        for method in operations:
            if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            handler = by_operation.get((path, method.upper()))
            assert handler is not None, f"{method} {path} is documented but not routed"
            permission = handler.opt.get("permission")
            url = _concrete(path)
            body: dict[str, Any] | None = {} if method in ("post", "put", "patch") else None
            if permission is None:
                if handler.opt.get("access") == "authenticated":
                    anonymous = await client.request(method, url, json=body)
                    assert anonymous.status_code == 401, f"{method} {path} without credentials"
                continue
            refused = await client.request(
                method, url, json=body, headers=await without(permission)
            )
            assert refused.status_code == 403, (
                f"{method} {path} without {permission}: {refused.text}"
            )
            assert refused.json()["error"]["details"] == {"permission": permission.value}
            allowed = await client.request(method, url, json=body, headers=everything)
            assert allowed.status_code != 403, f"{method} {path} with {permission}: {allowed.text}"
            walked.setdefault(permission, []).append(f"{method} {path}")
    # The walk reached the routes of every domain that has some.
    assert len(walked) >= 15, sorted(walked)
    assert sum(len(v) for v in walked.values()) >= 60


async def test_pages_refuse_a_role_without_their_permission(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    admin = await admin_key(client)
    pages = [
        (path, h.opt["permission"])
        for path, method, h in _handlers(app)
        if method == "GET" and h.opt.get("permission") and not path.startswith("/api/")
    ]
    assert {"/admin/roles", "/admin/audit", "/inbox", "/admin/inboxes"} <= {p for p, _ in pages}
    for path, permission in pages:
        role = await make_role(client, admin, {p.value for p in Permission} - {permission})
        agent_id, _ = await agent_with(role)
        email = (await client.get(f"/api/v1/agents/{agent_id}", headers=admin)).json()["email"]
        login = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": "correct horse battery"}
        )
        assert login.status_code == 200
        page = await client.get(_concrete(path))
        assert page.status_code == 403, f"{path} without {permission}"
        assert "Not allowed" in page.text and "text/html" in page.headers["content-type"]
        client.cookies.clear()
    signed_out = await client.get("/admin/roles")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")


async def test_the_agent_socket_needs_conversations_read(
    client: httpx.AsyncClient, base_url: str
) -> None:
    admin = await admin_key(client)
    role = await make_role(client, admin, {p.value for p in Permission} - {"conversations.read"})
    _, headers = await agent_with(role)
    key = headers["authorization"].removeprefix("Bearer ")
    url = base_url.replace("http://", "ws://") + "/ws/agent?after=0"
    # The guard refuses the handshake itself: the socket is never accepted.
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, subprotocols=["hub", f"hub.key.{key}"]):  # type: ignore[list-item]
            pass
    assert refused.value.response.status_code == 403


async def test_the_conversation_page_shows_only_what_the_role_may_read(
    client: httpx.AsyncClient,
) -> None:
    admin = await admin_key(client)
    inbox = await make_api_inbox(client, admin)
    sent = await inbound(client, admin, inbox["id"], "m-1", text="hello", sender="+4550000077")
    conversation = sent.json()["conversation_id"]
    for permissions, shows_contact in (
        (["conversations.read", "conversations.view_all"], False),
        (["conversations.read", "conversations.view_all", "contacts.read", "crm.card"], True),
    ):
        role = await make_role(client, admin, permissions)
        agent_id, _ = await agent_with(role)
        email = (await client.get(f"/api/v1/agents/{agent_id}", headers=admin)).json()["email"]
        await login(client, email)
        page = await client.get(f"/inbox/conversations/{conversation}")
        assert page.status_code == 200, page.text
        assert ("+4550000077" in page.text) is shows_contact
        assert ("<h3>Identities</h3>" in page.text) is shows_contact
        client.cookies.clear()
