"""What schemathesis found (tests/hostile/test_openapi_fuzz.py), kept as plain regression tests."""

from __future__ import annotations

import httpx

from tests.conftest import admin_key, inbound, make_api_inbox

Client = httpx.AsyncClient
BEYOND_INT32 = 2369101591434954  # the fuzzer's id: out of PostgreSQL's integer range


async def test_ids_beyond_the_database_range_are_client_errors(client: Client) -> None:
    headers = await admin_key(client)
    for method, path in (
        ("GET", f"/api/v1/conversations/{BEYOND_INT32}"),
        ("POST", f"/api/v1/conversations/{BEYOND_INT32}/read"),
        ("GET", f"/api/v1/inboxes/{BEYOND_INT32}"),
        ("DELETE", f"/api/v1/inboxes/{BEYOND_INT32}"),
        ("POST", "/api/v1/messages/84709596889851648540672/retry"),
        ("GET", f"/api/v1/sla-policies/{BEYOND_INT32}"),
    ):
        response = await client.request(method, path, headers=headers)
        assert 400 <= response.status_code < 500, (method, path, response.text)
        assert response.json()["error"]["code"] in ("invalid_input", "not_found")


async def test_text_the_database_cannot_store_is_a_client_error(client: Client) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    created = await inbound(client, headers, inbox["id"], "nul-1")
    conversation = created.json()["conversation_id"]
    tags = await client.post(
        f"/api/v1/conversations/{conversation}/tags", json={"tags": ["a\u0000b"]}, headers=headers
    )
    assert 400 <= tags.status_code < 500, tags.text
    message = await inbound(client, headers, inbox["id"], "nul-2", text="bad \u0000 byte")
    assert message.status_code < 500, message.text


async def test_a_multipart_upload_without_a_file_is_a_client_error(client: Client) -> None:
    headers = await admin_key(client)
    response = await client.post(
        "/api/v1/attachments", files={"note": (None, b"[]")}, headers=headers
    )
    assert response.status_code == 400 and "no file" in response.json()["error"]["message"]


async def test_error_answers_match_the_documented_shape(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    assert "/metrics" not in document["paths"]  # text/plain, not the JSON it was documented as
    key = document["paths"]["/api/v1/api-keys"]["post"]["responses"]["400"]
    assert key["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/HubError"}
    headers = await admin_key(client)
    answer = await client.post("/api/v1/api-keys", json={"name": ""}, headers=headers)
    assert answer.status_code == 400 and set(answer.json()) == {"error"}
