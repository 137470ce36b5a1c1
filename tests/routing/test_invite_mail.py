"""With HUB_SMTP_* the invitation is mailed through a real SMTP server (aiosmtpd) by the worker:
the API answer carries no link, the mailed one works once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from hub.system.config import Settings
from tests.conftest import admin_key, serving, unique, with_smtp
from tests.email.servers import SmtpSink


@pytest.fixture
async def mail_client(
    settings: Settings, sink: tuple[SmtpSink, int]
) -> AsyncIterator[httpx.AsyncClient]:
    from web.app import create_app

    configured = with_smtp(settings, sink[1])
    app: Litestar = create_app(configured, run_worker=True)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


async def test_the_invitation_is_mailed_and_its_link_works_once(
    mail_client: httpx.AsyncClient, sink: tuple[SmtpSink, int], settings: Settings
) -> None:
    received, _ = sink
    headers = await admin_key(mail_client)
    email = unique("invited") + "@example.com"
    invited = await mail_client.post(
        "/api/v1/agents", json={"email": email, "name": "Ines Invited"}, headers=headers
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()["emailed"] is True and invited.json()["invite_url"] is None
    [mail] = await received.wait(1)
    assert mail.rcpt_tos == [email]
    assert mail.message["Subject"] == "[Hub] Your invitation"
    text = mail.message.get_content()
    base = re.escape(settings.public_url.rstrip("/"))
    found = re.search(base + r"/set-password\?token=([\w-]+)", text)
    assert found, text
    password = "a long enough passphrase"
    first = await mail_client.post(
        "/api/v1/auth/set-password", json={"token": found.group(1), "password": password}
    )
    assert first.status_code == 200, first.text
    again = await mail_client.post(
        "/api/v1/auth/set-password", json={"token": found.group(1), "password": password}
    )
    assert again.status_code == 422
    login = await mail_client.post(
        "/api/v1/auth/login", json={"email": email, "password": password}
    )
    assert login.status_code == 200, login.text
