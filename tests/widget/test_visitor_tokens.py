"""Issue 22.5: visitor tokens expire and can be revoked."""

from __future__ import annotations

import time

import httpx

from hub.visitors import tokens
from tests.conftest import admin_key
from tests.widget.conftest import make_webchat_inbox, start_session, visitor_headers

SECRET = "test-secret-" + "x" * 40


async def test_an_old_visitor_token_expires(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_webchat_inbox(client, headers)
    session = await start_session(client, inbox)
    visitor = tokens.read_token(SECRET, session["visitor_token"])
    assert visitor is not None
    fresh = await client.get("/api/v1/widget/messages", headers=visitor_headers(session))
    assert fresh.status_code == 200, fresh.text
    issued_long_ago = tokens.issue_token(
        SECRET,
        tokens.Visitor(visitor.inbox_id, visitor.address, issued_at=int(time.time()) - 31 * 86400),
    )
    old = await client.get(
        "/api/v1/widget/messages", headers=visitor_headers({"visitor_token": issued_long_ago})
    )
    assert old.status_code == 401, old.text


async def test_revoked_visitor_tokens_stop_working(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_webchat_inbox(client, headers, identity_secret="k")
    signed = {"identifier": "u-1", "identifier_hash": tokens.identity_hash("k", "u-1")}
    first = await start_session(client, inbox, **signed)
    revoked = await client.post(
        f"/api/v1/contacts/{first['contact_id']}/widget-sessions/revoke", headers=headers
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {"visitors": 1}
    refused = await client.get("/api/v1/widget/messages", headers=visitor_headers(first))
    assert refused.status_code == 401, refused.text
    # The site can vouch for the user again: a new session, the same contact.
    again = await start_session(client, inbox, **signed)
    assert again["contact_id"] == first["contact_id"]
    listed = await client.get("/api/v1/widget/messages", headers=visitor_headers(again))
    assert listed.status_code == 200, listed.text
