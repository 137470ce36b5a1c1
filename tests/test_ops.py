import httpx

Client = httpx.AsyncClient


async def test_health(client: Client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_ready_checks_database_and_queue(client: Client) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "queue": "ok"}


async def test_metrics_are_prometheus_text(client: Client) -> None:
    await client.get("/ready")
    response = await client.get("/metrics")
    assert response.status_code == 200
    labels = 'app_name="hub",method="GET",path="/ready",status_code="200"'
    assert f"hub_requests_total{{{labels}}}" in response.text
    assert f"hub_request_duration_seconds_count{{{labels}}}" in response.text
    assert "hub_requests_in_progress" in response.text
    assert 'path="/metrics"' not in response.text


async def test_openapi_document(client: Client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/auth/login", "/api/v1/api-keys", "/health", "/ready"):
        assert path in paths


async def test_unknown_path_uses_the_error_shape(client: Client) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
