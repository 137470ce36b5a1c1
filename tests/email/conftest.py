"""Fixtures for the email channel: Dovecot, an SMTP sink with STARTTLS + AUTH, email inboxes."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import unique
from tests.email.servers import Dovecot, SmtpSink, run_dovecot, run_smtp

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "email"
ADDRESS = "support@example.com"
PASSWORD = "imap-pass-1"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    if not (shutil.which("dovecot") or Path("/usr/sbin/dovecot").exists()):
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    # Under /tmp (not pytest's tmp_path): every parent must be traversable by Dovecot's users.
    with (
        tempfile.TemporaryDirectory(prefix="hub-dovecot-") as base,
        run_dovecot(Path(base) / "dovecot", {ADDRESS: PASSWORD}) as server,
    ):
        yield server


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[SmtpSink, int, Path]]:
    with run_smtp(tmp_path, "smtp-user", "smtp-pass") as running:
        yield running


def email_config(
    dovecot: Dovecot | None = None, smtp: tuple[SmtpSink, int, Path] | None = None, **extra: Any
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "address": ADDRESS,
        "smtp_host": "127.0.0.1",
        "smtp_port": 2,
        "smtp_security": "none",
        "poll_interval": 5,
        "idle_seconds": 0,
    }
    if dovecot is not None:
        config.update(
            imap_host="127.0.0.1",
            imap_port=dovecot.port,
            imap_security="none",
            imap_username=ADDRESS,
            imap_password=PASSWORD,
        )
    if smtp is not None:
        _, port, cert = smtp
        config.update(
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="starttls",
            smtp_username="smtp-user",
            smtp_password="smtp-pass",
            tls_ca_file=str(cert),
        )
    config.update(extra)
    return config


async def create_inbox(
    client: httpx.AsyncClient, headers: dict[str, str], config: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/inboxes",
        json={"name": unique("mail"), "channel": "email", "config": config},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
async def imap_clean(dovecot: Dovecot) -> AsyncIterator[Dovecot]:
    """An empty INBOX (Dovecot runs per module; each test starts with no mail)."""
    shutil.rmtree(dovecot.maildir(ADDRESS), ignore_errors=True)
    yield dovecot


def mail(
    *,
    sender: str = "Ann Customer <ann@customer.example>",
    to: str = ADDRESS,
    subject: str = "Router is down",
    body: str = "Hello,\nmy router is down again.\n",
    message_id: str,
    extra: dict[str, str] | None = None,
) -> bytes:
    """A small RFC 5322 message as a mail client would send it."""
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        "Date: Mon, 23 Nov 2026 10:00:00 +0000",
        f"Message-ID: <{message_id}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        *[f"{k}: {v}" for k, v in (extra or {}).items()],
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def bounce_for(message_id: str, recipient: str = "ann@customer.example") -> bytes:
    """A Postfix-style delivery status notification for one of our messages."""
    boundary = "DSN-boundary-1"
    return (
        "From: MAILER-DAEMON@mx.customer.example (Mail Delivery System)\r\n"
        f"To: {ADDRESS}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "Message-ID: <dsn-1@mx.customer.example>\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <ann@customer.example>: Recipient address rejected: User unknown\r\n"
        f"\r\n--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: Support <{ADDRESS}>\r\n"
        f"To: {recipient}\r\n"
        f"Message-ID: <{message_id}>\r\n"
        "Subject: [#1000] Router is down\r\n"
        f"\r\n--{boundary}--\r\n"
    ).encode()
