"""Sessions: identity proof, required identity, contact linking, allowed origins, the script."""

from __future__ import annotations

import gzip

import httpx
import pytest
import websockets

from hub.visitors import tokens
from tests.conftest import admin_key, inbound, make_api_inbox
from tests.widget.conftest import (
    SITE,
    make_webchat_inbox,
    start_session,
    visitor_headers,
    widget_ws,
)

EVIL = "https://evil.example.net"


def test_identity_hash_matches_the_reference_vector() -> None:
    # The vector from shared/contracts/widget.md (same scheme as Chatwoot's identity validation).
    assert tokens.identity_hash("hmactoken", "user-42") == (
        "60f125e38331fb2e2849671ba143a454b53f851567b6de54654d52933d81ee05"
    )


async def test_a_wrong_identifier_hash_is_refused(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_webchat_inbox(client, headers, identity_secret="hmactoken")
    body = {"inbox_token": inbox["inbox_token"], "identifier": "user-42"}
    for wrong in ("0" * 64, "", tokens.identity_hash("hmactoken", "user-43")):
        response = await client.post(
            "/api/v1/widget/sessions", json={**body, "identifier_hash": wrong}
        )
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "invalid_identity_hash"
    good = await start_session(
        client,
        inbox,
        identifier="user-42",
        identifier_hash=tokens.identity_hash("hmactoken", "user-42"),
    )
    assert good["verified"] is True
    again = await start_session(
        client,
        inbox,
        identifier="user-42",
        identifier_hash=tokens.identity_hash("hmactoken", "user-42"),
    )
    assert again["contact_id"] == good["contact_id"]  # another device, the same person


async def test_an_inbox_can_require_identity(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_webchat_inbox(
        client, headers, identity_secret="s3cret", require_identity=True
    )
    response = await client.post(
        "/api/v1/widget/sessions", json={"inbox_token": inbox["inbox_token"], "name": "Anon"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "identity_required"
    # An anonymous token issued before the inbox required identity stops working too.
    anonymous = tokens.issue_token(
        "test-secret-" + "x" * 40, tokens.Visitor(inbox["id"], f"{inbox['id']}:anon:x")
    )
    listed = await client.get("/api/v1/widget/messages", headers={"x-visitor-token": anonymous})
    assert listed.status_code == 401, listed.text


async def test_a_verified_email_joins_the_existing_contact_a_typed_one_does_not(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    api = await make_api_inbox(client, headers)
    known = await inbound(client, headers, api["id"], "e-1", sender="Ada@Example.com", kind="email")
    contact_id = known.json()["author"]["id"]
    inbox = await make_webchat_inbox(client, headers, identity_secret="k")
    typed = await start_session(client, inbox, email="ada@example.com", name="Not Ada")
    assert typed["contact_id"] != contact_id
    # A hash over the identifier alone vouches for the user, not for the email sent beside it.
    unsigned = await start_session(
        client,
        inbox,
        identifier="ada-0",
        identifier_hash=tokens.identity_hash("k", "ada-0"),
        email="ada@example.com",
    )
    assert unsigned["verified"] is True and unsigned["email_verified"] is False
    assert unsigned["contact_id"] != contact_id
    verified = await start_session(
        client,
        inbox,
        identifier="ada-1",
        identifier_hash=tokens.identity_hash("k", "ada-1", "ADA@example.com"),
        email="ADA@example.com",
    )
    assert verified["contact_id"] == contact_id
    contact = (await client.get(f"/api/v1/contacts/{contact_id}", headers=headers)).json()
    kinds = {(i["kind"], i["address"]) for i in contact["identities"]}
    assert ("webchat", f"{inbox['id']}:user:ada-1") in kinds


async def test_cors_only_for_allowed_origins(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_webchat_inbox(client, headers)
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-visitor-token",
    }
    ok = await client.options("/api/v1/widget/sessions", headers={"origin": SITE, **preflight})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == SITE
    assert "x-visitor-token" in ok.headers["access-control-allow-headers"].lower()
    bad = await client.options("/api/v1/widget/sessions", headers={"origin": EVIL, **preflight})
    assert bad.status_code == 403
    assert "access-control-allow-origin" not in bad.headers

    body = {"inbox_token": inbox["inbox_token"]}
    refused = await client.post("/api/v1/widget/sessions", json=body, headers={"origin": EVIL})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in refused.headers
    allowed = await client.post("/api/v1/widget/sessions", json=body, headers={"origin": SITE})
    assert allowed.status_code == 201
    assert allowed.headers["access-control-allow-origin"] == SITE
    # A token used from another site is refused as well.
    session = allowed.json()
    stolen = await client.get(
        "/api/v1/widget/messages", headers=visitor_headers(session, origin=EVIL)
    )
    assert stolen.status_code == 403


async def test_a_second_inbox_origin_is_no_pass_for_the_first(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    first = await make_webchat_inbox(client, headers)
    await make_webchat_inbox(client, headers, allowed_origins=[EVIL])
    response = await client.post(
        "/api/v1/widget/sessions",
        json={"inbox_token": first["inbox_token"]},
        headers={"origin": EVIL},
    )
    # The preflight passes (another inbox allows EVIL) but the inbox itself refuses.
    assert response.status_code == 403


async def test_socket_origin_is_checked(client: httpx.AsyncClient, base_url: str) -> None:
    headers = await admin_key(client)
    inbox = await make_webchat_inbox(client, headers, allowed_origins=["https://*.example.com"])
    session = await start_session(client, inbox)
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(widget_ws(base_url, session), origin=EVIL):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    async with websockets.connect(
        widget_ws(base_url, session),
        origin="https://www.example.com",  # type: ignore[arg-type]
    ) as socket:
        await socket.send('{"type": "ping"}')
        assert "pong" in await socket.recv()
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(widget_ws(base_url, {"visitor_token": "v1.forged.00"})):
            pass


async def test_config_and_script(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_webchat_inbox(
        client, headers, colour="#112233", position="left", language="de", greeting="Hallo!"
    )
    assert "identity_secret" not in inbox["config"]
    assert inbox["generated_secrets"]["identity_secret"]
    config = await client.get(
        "/api/v1/widget/config",
        params={"inbox_token": inbox["inbox_token"]},
        headers={"origin": SITE},
    )
    assert config.status_code == 200
    assert config.json()["inbox"]["colour"] == "#112233"
    assert config.json()["availability"]["open"] is True
    assert "identity_secret" not in config.text
    unknown = await client.get("/api/v1/widget/config", params={"inbox_token": "nope"})
    assert unknown.status_code == 404

    script = await client.get("/widget.js", headers={"accept-encoding": "gzip"})
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("application/javascript")
    assert len(gzip.compress(script.content, 9)) < 15 * 1024
    cached = await client.get("/widget.js", headers={"if-none-match": script.headers["etag"]})
    assert cached.status_code == 304


async def test_inbox_settings_are_validated(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    for config, words in [
        ({"allowed_origins": ["https://x.example.com/path"]}, "path"),
        ({"colour": "red"}, "colour"),
        ({"hours": {"timezone": "Mars/Base", "weekly": {}}}, "timezone"),
        ({"hours": {"weekly": {"mon": [["17:00", "09:00"]]}}}, "end after"),
        ({"language": "tlh"}, "language"),
        ({"colr": "#000000"}, "colr"),
    ]:
        response = await client.post(
            "/api/v1/inboxes",
            json={"name": "bad chat", "channel": "webchat", "config": config},
            headers=headers,
        )
        assert response.status_code == 422, (config, response.text)
        assert words in response.json()["error"]["message"], response.text


def test_origins_are_normalised_and_matched() -> None:
    from adapters.webchat.config import normalise_origin, origin_matches

    assert normalise_origin("HTTPS://Shop.Example.com:443/") == "https://shop.example.com"
    assert normalise_origin("http://localhost:3000") == "http://localhost:3000"
    allowed = ["https://shop.example.com", "https://*.example.org", "http://localhost:3000"]
    assert origin_matches("https://shop.example.com", allowed)
    assert origin_matches("https://a.b.example.org", allowed)
    assert not origin_matches("https://example.org", allowed)  # the wildcard needs a subdomain
    assert not origin_matches("http://shop.example.com", allowed)  # scheme matters
    assert not origin_matches("https://shop.example.com.evil.net", allowed)
    assert not origin_matches("https://evilexample.org", allowed)
    assert not origin_matches("http://localhost:3001", allowed)
    assert not origin_matches("null", allowed)
    assert origin_matches("https://anything.net", ["*"])
    with pytest.raises(ValueError):
        normalise_origin("https://*evil.com")
