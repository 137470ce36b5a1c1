import httpx

from hub.db.tables import AgentSession, ApiKey, AuditLog
from tests.conftest import api_key_for, login, make_agent

Client = httpx.AsyncClient


async def test_login_sets_session_and_returns_agent(client: Client) -> None:
    await make_agent("ann@example.com", role="supervisor")
    response = await client.post(
        "/api/v1/auth/login", json={"email": "Ann@Example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["agent"]["email"] == "ann@example.com"
    assert body["agent"]["role"] == "supervisor"
    assert "hub_session" in response.cookies
    me = await client.get("/api/v1/auth/me")
    assert me.json()["agent"]["email"] == "ann@example.com"
    # The cookie is random and only its hash is stored.
    stored = await AgentSession.select(AgentSession.token_hash).first()
    assert stored is not None and stored["token_hash"] != response.cookies["hub_session"]


async def test_wrong_password_is_401_and_then_rate_limited(client: Client) -> None:
    await make_agent("bob@example.com")
    for _ in range(3):  # settings.login_max_attempts == 3 in tests
        response = await client.post(
            "/api/v1/auth/login", json={"email": "bob@example.com", "password": "wrong"}
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "bad_credentials"
    response = await client.post(
        "/api/v1/auth/login", json={"email": "bob@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0


async def test_unknown_email_is_the_same_401(client: Client) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "wrong email or password"


async def test_malformed_login_body_is_400_in_the_error_shape(client: Client) -> None:
    response = await client.post("/api/v1/auth/login", json={"email": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


async def test_session_state_change_needs_csrf(client: Client) -> None:
    await make_agent("carl@example.com")
    csrf = await login(client, "carl@example.com")
    refused = await client.post("/api/v1/api-keys", json={"name": "k"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf"
    wrong = await client.post(
        "/api/v1/api-keys", json={"name": "k"}, headers={"x-csrf-token": "nope"}
    )
    assert wrong.status_code == 403
    ok = await client.post("/api/v1/api-keys", json={"name": "k"}, headers={"x-csrf-token": csrf})
    assert ok.status_code == 201


async def test_logout_ends_the_session(client: Client) -> None:
    await make_agent("dora@example.com")
    csrf = await login(client, "dora@example.com")
    cookie = client.cookies["hub_session"]
    assert (
        await client.post("/api/v1/auth/logout", headers={"x-csrf-token": csrf})
    ).status_code == 204
    client.cookies.set("hub_session", cookie)  # replaying the old cookie must not work
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_api_key_lifecycle(client: Client) -> None:
    key = await api_key_for(client, "eve@example.com")
    bearer = {"authorization": f"Bearer {key}"}
    me = await client.get("/api/v1/auth/me", headers=bearer)
    assert me.status_code == 200 and me.json()["via"] == "api_key"
    listed = (await client.get("/api/v1/api-keys", headers=bearer)).json()["items"]
    assert len(listed) == 1 and "key" not in listed[0] and key.startswith(listed[0]["prefix"])
    stored = await ApiKey.select(ApiKey.key_hash).first()
    assert stored is not None and key not in stored["key_hash"]
    # API keys need no CSRF token; revoking one makes it useless at once.
    revoked = await client.delete(f"/api/v1/api-keys/{listed[0]['id']}", headers=bearer)
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=bearer)).status_code == 401
    assert await AuditLog.count().where(AuditLog.action == "api_key.revoked") == 1


async def test_someone_elses_key_cannot_be_revoked(client: Client) -> None:
    mine = await api_key_for(client, "fay@example.com")
    theirs = await api_key_for(client, "gus@example.com")
    their_id = (
        await client.get("/api/v1/api-keys", headers={"authorization": f"Bearer {theirs}"})
    ).json()["items"][0]["id"]
    response = await client.delete(
        f"/api/v1/api-keys/{their_id}", headers={"authorization": f"Bearer {mine}"}
    )
    assert response.status_code == 404
    assert (
        await client.get("/api/v1/auth/me", headers={"authorization": f"Bearer {theirs}"})
    ).status_code == 200


async def test_unknown_bearer_is_401(client: Client) -> None:
    response = await client.get("/api/v1/auth/me", headers={"authorization": "Bearer hub_notakey"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


async def test_roles_are_checked(client: Client) -> None:
    agent_key = await api_key_for(client, "hal@example.com", role="agent")
    admin_key = await api_key_for(client, "ida@example.com", role="admin")
    denied = await client.post(
        "/api/v1/admin/queue-check", headers={"authorization": f"Bearer {agent_key}"}
    )
    assert denied.status_code == 403
    allowed = await client.post(
        "/api/v1/admin/queue-check", headers={"authorization": f"Bearer {admin_key}"}
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["result"]["payload"] == {"from": "queue-check"}


async def test_login_page_and_home(client: Client) -> None:
    page = await client.get("/login")
    assert page.status_code == 200 and 'id="login-form"' in page.text
    home = await client.get("/", follow_redirects=False)
    assert home.status_code in (302, 303, 307) and home.headers["location"] == "/login"
    await make_agent("jo@example.com")
    await login(client, "jo@example.com")
    home = await client.get("/")
    assert home.status_code == 200 and "jo@example.com" in home.text
