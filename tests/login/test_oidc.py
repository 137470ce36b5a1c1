"""OIDC sign-in against a contract fake provider (discovery, authorize, token, JWKS; real
RS256-signed id_tokens): a verified email links the agent, auto-provisioning makes one, and a
forged state, a replayed callback, a wrong nonce or audience, a bad signature or an unverified
email are refused with a clear message and audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar import Litestar

from hub.system.config import Settings
from tests.conftest import admin_key, serving, unique, with_settings
from tests.fakes.oidc import FakeOidc
from tests.login.helpers import audit_rows, code, enrol, new_agent, session


@pytest.fixture
async def provider() -> AsyncIterator[FakeOidc]:
    fake = FakeOidc()
    async with serving(fake.app()) as url:
        fake.issuer = url
        yield fake


async def configure(
    client: httpx.AsyncClient, fake: FakeOidc, **extra: Any
) -> tuple[str, dict[str, str]]:
    admin = await admin_key(client)
    key = unique("idp").lower()
    body = {
        "key": key,
        "name": "Fake IdP",
        "discovery_url": fake.discovery_url(),
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        **extra,
    }
    created = await client.post("/api/v1/auth/oidc/providers", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert "client_secret" not in created.json()
    assert created.json()["redirect_uri"].endswith(f"/api/v1/auth/oidc/{key}/callback")
    return key, admin


def user(fake: FakeOidc, email: str, *, verified: bool = True, sub: str | None = None) -> None:
    fake.users[email] = {
        "sub": sub or unique("sub"),
        "email": email,
        "email_verified": verified,
        "name": "Sam Single",
    }
    fake.next_user = email


async def start(client: httpx.AsyncClient, key: str, next_path: str = "/inbox") -> httpx.Response:
    """The login redirect, then the provider's: the answer points back at the hub's callback."""
    begin = await client.get(f"/api/v1/auth/oidc/{key}/login", params={"next": next_path})
    assert begin.status_code == 302, begin.text
    query = parse_qs(urlsplit(begin.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"][0]
    at_provider = await client.get(begin.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    return at_provider


def callback_path(at_provider: httpx.Response) -> str:
    # The provider redirects to HUB_PUBLIC_URL; the test hub listens on another port.
    parts = urlsplit(at_provider.headers["location"])
    return f"{parts.path}?{parts.query}"


async def test_a_verified_email_signs_in_and_links(
    client: httpx.AsyncClient, provider: FakeOidc, settings: Settings
) -> None:
    key, _ = await configure(client, provider)
    agent_id, email = await new_agent()
    user(provider, email, sub="subject-1")
    login_page = await client.get("/login")
    assert (
        f"/api/v1/auth/oidc/{key}/login" in login_page.text
        and "Sign in with Fake IdP" in login_page.text
    )
    back = await client.get(callback_path(await start(client, key, "/inbox/conversations/1")))
    assert back.status_code == 303 and back.headers["location"] == "/inbox/conversations/1"
    me = await client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["agent"]["id"] == agent_id
    [sent] = provider.token_requests
    assert sent["code_verifier"] and sent["grant_type"] == "authorization_code"
    # Linked by subject now: a later sign-in works even if the provider stops vouching for the
    # email (the link, not the address, identifies the agent).
    client.cookies.clear()
    provider.users[email]["email_verified"] = False
    again = await client.get(callback_path(await start(client, key)))
    assert again.status_code == 303
    logins = await audit_rows(settings.database_url or "", "login")
    by_oidc = [r for r in logins if r["data"]["method"] == f"oidc:{key}"]
    assert [r["actor_id"] for r in by_oidc] == [agent_id, agent_id]


async def test_refusals_are_clear_and_audited(
    client: httpx.AsyncClient, provider: FakeOidc, settings: Settings
) -> None:
    key, _ = await configure(client, provider)
    _, email = await new_agent()

    async def refused(path: str) -> str:
        answer = await client.get(path)
        assert answer.status_code == 400, answer.text
        assert (await client.get("/api/v1/auth/me")).status_code == 401
        return answer.text

    # Unverified email: no linking by address.
    user(provider, email, verified=False)
    assert "email_verified" in await refused(callback_path(await start(client, key)))

    # A forged state: the callback's state is not the one this browser's cookie holds.
    user(provider, email)
    at_provider = await start(client, key)
    forged = callback_path(at_provider).replace("state=", "state=forged")
    assert "did not start in this browser" in await refused(forged)

    # Another browser (no state cookie) cannot use the callback either.
    path = callback_path(await start(client, key))
    async with httpx.AsyncClient(base_url=str(client.base_url)) as stranger:
        assert (await stranger.get(path)).status_code == 400
    # ...and that one is not spent by the stranger's try: the state is checked first.
    state_cookie = next(c for c in client.cookies.jar if c.name == "hub_oidc")
    assert (await client.get(path)).status_code == 303
    # Replayed: the same callback again (same state and code), even with the state cookie put
    # back (the hub clears it), is refused: the state is single use.
    client.cookies.delete("hub_session")
    assert "did not start in this browser" in await refused(path)
    client.cookies.jar.set_cookie(state_cookie)
    assert "used already" in await refused(path)

    # A wrong nonce, a wrong audience, a key not in the JWKS.
    for override, stranger_key, words in (
        ({"nonce": "not-this-one"}, False, "does not belong to this sign-in"),
        ({"aud": "another-app"}, False, "meant for another application"),
        ({}, True, "not validly signed"),
        ({"iss": "https://evil.example"}, False, "not valid"),
    ):
        provider.override, provider.sign_with_stranger = override, stranger_key
        assert words in await refused(callback_path(await start(client, key)))
    provider.override, provider.sign_with_stranger = {}, False

    # A code replayed at the provider: used once by a sign-in, then sent again with a new
    # state; the provider refuses it and so does the hub.
    first_path = callback_path(await start(client, key))
    assert (await client.get(first_path)).status_code == 303
    used_code = parse_qs(urlsplit(first_path).query)["code"][0]
    client.cookies.delete("hub_session")
    fresh_state = parse_qs(urlsplit(callback_path(await start(client, key))).query)["state"][0]
    replayed = f"/api/v1/auth/oidc/{key}/callback?code={used_code}&state={fresh_state}"
    assert "refused the code" in await refused(replayed)

    # The provider says no (the person cancelled at the provider).
    denied = f"/api/v1/auth/oidc/{key}/callback?error=access_denied&state=x"
    assert "did not sign you in (access_denied)" in await refused(denied)

    reasons = [
        r["data"]["reason"] for r in await audit_rows(settings.database_url or "", "login.failed")
    ]
    for reason in (
        "email_unverified",
        "state_mismatch",
        "state_used_or_expired",
        "nonce",
        "aud",
        "id_token_signature",
        "id_token_invalid_claim",
        "token_refused",
        "provider_error",
    ):
        assert reason in reasons, reasons


async def test_auto_provisioning_and_two_factor(
    client: httpx.AsyncClient, provider: FakeOidc
) -> None:
    key, admin = await configure(client, provider)
    email = unique("new") + "@example.com"
    user(provider, email)
    # Without auto-provisioning an unknown email is refused.
    no = await client.get(callback_path(await start(client, key)))
    assert no.status_code == 400 and "ask an admin to invite you" in no.text
    changed = await client.patch(
        f"/api/v1/auth/oidc/providers/{key}",
        json={"auto_provision": True, "default_role": "supervisor"},
        headers=admin,
    )
    assert changed.status_code == 200 and changed.json()["auto_provision"] is True
    yes = await client.get(callback_path(await start(client, key)))
    assert yes.status_code == 303
    me = (await client.get("/api/v1/auth/me")).json()["agent"]
    assert me["email"] == email and me["role"] == "supervisor" and me["name"] == "Sam Single"

    # An agent with two-factor is asked for the code after the provider, too.
    client.cookies.clear()
    _, email2 = await new_agent()
    secret, _ = await enrol(client, await session(client, email2))
    client.cookies.clear()
    user(provider, email2)
    back = await client.get(callback_path(await start(client, key, "/inbox/x")))
    assert back.status_code == 303
    assert back.headers["location"] == "/login?step=code&next=%2Finbox%2Fx"
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    assert 'id="code-form"' in (await client.get("/login")).text
    done = await client.post("/api/v1/auth/totp/verify", json={"code": code(secret, 1)})
    assert done.status_code == 200, done.text


async def test_admin_api_validates(client: httpx.AsyncClient, provider: FakeOidc) -> None:
    admin = await admin_key(client)
    bad = await client.post(
        "/api/v1/auth/oidc/providers",
        json={
            "key": "Bad Key",
            "name": "x",
            "discovery_url": provider.discovery_url(),
            "client_id": "a",
            "client_secret": "b",
        },
        headers=admin,
    )
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("key:")
    nowhere = await client.post(
        "/api/v1/auth/oidc/providers",
        json={
            "key": "nowhere",
            "name": "x",
            "discovery_url": f"{provider.issuer}/not-discovery",
            "client_id": "a",
            "client_secret": "b",
        },
        headers=admin,
    )
    assert nowhere.status_code == 422 and "discovery_url" in nowhere.json()["error"]["message"]
    role = await client.post(
        "/api/v1/auth/oidc/providers",
        json={
            "key": "badrole",
            "name": "x",
            "discovery_url": provider.discovery_url(),
            "client_id": "a",
            "client_secret": "b",
            "default_role": "Not A Role!",
        },
        headers=admin,
    )
    assert role.status_code == 422 and role.json()["error"]["message"].startswith("default_role")
    listed = await client.get("/api/v1/auth/oidc/providers", headers=admin)
    assert listed.status_code == 200 and listed.json() == []
    _, email = await new_agent()
    agent_csrf = await session(client, email)
    assert (await client.get("/api/v1/auth/oidc/providers")).status_code == 403
    assert agent_csrf


@pytest.fixture
async def guarded_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed: OIDC URLs on private addresses are refused."""
    from web.app import create_app

    app: Litestar = create_app(
        with_settings(settings, allow_private_oidc_urls=False), run_worker=False
    )
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


async def test_private_discovery_urls_are_refused_by_default(
    guarded_client: httpx.AsyncClient, provider: FakeOidc
) -> None:
    admin = await admin_key(guarded_client)
    refused = await guarded_client.post(
        "/api/v1/auth/oidc/providers",
        json={
            "key": "loopback",
            "name": "x",
            "discovery_url": provider.discovery_url(),
            "client_id": "a",
            "client_secret": "b",
        },
        headers=admin,
    )
    assert refused.status_code == 422
    assert "discovery document could not be read" in refused.json()["error"]["message"]
