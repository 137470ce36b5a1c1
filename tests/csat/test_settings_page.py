"""The admin form for an inbox's CSAT survey: shown to those who manage inboxes, saved through
the API with the session's CSRF token (tests/browser/test_csat_settings.py: in Chromium)."""

from __future__ import annotations

import httpx

from tests.conftest import admin_key, login, make_agent, make_api_inbox, unique


async def test_the_page_needs_the_permission_and_saves_with_csrf(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    agent = unique("agent") + "@example.com"
    await make_agent(agent)
    await login(client, agent)
    assert (await client.get(f"/admin/inboxes/{inbox['id']}/csat")).status_code == 403
    client.cookies.clear()

    admin = unique("admin") + "@example.com"
    await make_agent(admin, role="admin")
    csrf = await login(client, admin)
    page = await client.get(f"/admin/inboxes/{inbox['id']}/csat")
    assert page.status_code == 200
    assert 'id="csat-enabled" name="enabled" type="checkbox">' in page.text  # off by default
    assert 'value="168"' in page.text  # answers accepted for a week (hours)
    assert 'id="csat-template"' not in page.text  # an API inbox has no reply window
    assert (await client.get("/admin/inboxes/999999/csat")).status_code == 404

    body = {"enabled": True, "delay_minutes": 15, "window_hours": 48,
            "question": "Did we sort it out?", "template": ""}  # fmt: skip
    url = f"/api/v1/inboxes/{inbox['id']}/csat"
    assert (await client.put(url, json=body)).status_code == 403  # the session without CSRF
    saved = await client.put(url, json=body, headers={"x-csrf-token": csrf})
    assert saved.status_code == 200, saved.text
    page = await client.get(f"/admin/inboxes/{inbox['id']}/csat")
    assert 'type="checkbox" checked>' in page.text and 'value="15"' in page.text
    assert "Did we sort it out?</textarea>" in page.text
    listing = await client.get("/admin/inboxes")
    assert f'<a href="/admin/inboxes/{inbox["id"]}/csat"' in listing.text
