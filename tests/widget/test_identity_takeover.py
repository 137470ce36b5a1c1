"""Issue 22.1: a visitor's email joins a contact only when the site's HMAC covers it."""

from __future__ import annotations

import asyncpg
import httpx

from hub.conversations import inbox_views
from hub.system.config import Settings
from hub.visitors import tokens
from tests.conftest import admin_key
from tests.widget.conftest import make_webchat_inbox, start_session, visitor_headers, visitor_says

VICTIM = "victim@example.com"


async def test_an_identifier_hash_does_not_vouch_for_the_email_beside_it(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = await admin_key(client)
    inbox = await make_webchat_inbox(client, headers, identity_secret="k")
    # The victim chatted before, with a file, and their contact owns their email address.
    victim = await start_session(
        client, inbox, identifier="victim-1", identifier_hash=tokens.identity_hash("k", "victim-1")
    )
    upload = await client.post(
        "/api/v1/widget/attachments",
        files={"data": ("invoice.txt", b"the victim's invoice", "text/plain")},
        headers=visitor_headers(victim),
    )
    assert upload.status_code == 201, upload.text
    sent = await client.post(
        "/api/v1/widget/messages",
        json={
            "client_id": "v-1",
            "text": "my card ends 4242",
            "attachments": [upload.json()["upload"]],
        },
        headers=visitor_headers(victim),
    )
    assert sent.status_code == 201, sent.text
    attachment_id = sent.json()["attachments"][0]["id"]
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(
            "INSERT INTO contact_identity (contact, kind, address, verified, created_at)"
            " VALUES ($1, 'email', $2, true, now())",
            victim["contact_id"],
            VICTIM,
        )
    finally:
        await conn.close()

    # The attacker has an account of their own on the site, so a valid hash of their own
    # identifier, and types the victim's email beside it.
    attacker = await start_session(
        client,
        inbox,
        identifier="attacker-9",
        identifier_hash=tokens.identity_hash("k", "attacker-9"),
        email=VICTIM,
    )
    assert attacker["verified"] is True
    assert attacker["contact_id"] != victim["contact_id"]
    listed = await client.get("/api/v1/widget/messages", headers=visitor_headers(attacker))
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == []
    assert listed.json()["conversation_id"] is None
    download = await client.get(
        f"/api/v1/widget/attachments/{attachment_id}", headers=visitor_headers(attacker)
    )
    assert download.status_code == 404
    assert attacker["email_verified"] is False
    # Agents see the attacker as who they are, with the typed email only as a suggestion.
    said = await visitor_says(client, attacker, "hi, it's me")
    assert said.status_code == 201, said.text
    contact = (
        await client.get(f"/api/v1/contacts/{attacker['contact_id']}", headers=headers)
    ).json()
    assert ("email", VICTIM) not in {(i["kind"], i["address"]) for i in contact["identities"]}
    assert contact["unverified_email"] == {
        "address": VICTIM,
        "possible_match": victim["contact_id"],
    }
    card = await inbox_views.contact_card(
        attacker["contact_id"], current_conversation=said.json()["conversation_id"], visible=None
    )
    assert card["unverified_email"] == contact["unverified_email"]
    owner = (await client.get(f"/api/v1/contacts/{victim['contact_id']}", headers=headers)).json()
    assert owner["unverified_email"] is None


async def test_a_hash_over_identifier_and_email_joins_the_owner_of_the_email(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = await make_webchat_inbox(client, headers, identity_secret="k")
    first = await start_session(
        client,
        inbox,
        identifier="ada-1",
        identifier_hash=tokens.identity_hash("k", "ada-1", "Ada@Example.com"),
        email="Ada@Example.com",
    )
    assert first["email_verified"] is True
    # Another site account whose signed email is Ada's is the same customer.
    second = await start_session(
        client,
        inbox,
        identifier="ada-2",
        identifier_hash=tokens.identity_hash("k", "ada-2", "ada@example.com"),
        email="ada@example.com",
    )
    assert second["contact_id"] == first["contact_id"]
    # A hash over both cannot be replayed with another email.
    wrong = await client.post(
        "/api/v1/widget/sessions",
        json={
            "inbox_token": inbox["inbox_token"],
            "identifier": "ada-2",
            "identifier_hash": tokens.identity_hash("k", "ada-2", "ada@example.com"),
            "email": "eve@example.com",
        },
    )
    assert wrong.status_code == 401, wrong.text


async def test_identifiers_with_control_characters_are_refused(client: httpx.AsyncClient) -> None:
    # Else the identifier "u\nvictim@example.com" would be signed as if it were (u, victim's email).
    headers = await admin_key(client)
    inbox = await make_webchat_inbox(client, headers, identity_secret="k")
    identifier = f"u\n{VICTIM}"
    response = await client.post(
        "/api/v1/widget/sessions",
        json={
            "inbox_token": inbox["inbox_token"],
            "identifier": identifier,
            "identifier_hash": tokens.identity_hash("k", identifier),
        },
    )
    assert response.status_code == 400, response.text


def test_the_signed_email_form_vector() -> None:
    # Documented in docs/channels/widget.md: HMAC over identifier + "\n" + email.
    assert tokens.identity_hash("hmactoken", "user-42", "ada@example.com") == (
        "3dbd5899f4a83d52bd13124b2010d0296c2d0a8e32cfd60a59e6088e6570d303"
    )
