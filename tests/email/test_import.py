"""`hub email import PATH --inbox ID`: an mbox and a Maildir, threaded, idempotent, with progress."""

from __future__ import annotations

import mailbox
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from hub.db.engine import engine
from tests.conftest import admin_key
from tests.email.conftest import ADDRESS, create_inbox, email_config, mail

HUB = str(Path(sys.executable).with_name("hub"))


def _hub(settings: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HUB_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        DATABASE_URL=str(settings.database_url),
        HUB_SECRET_KEY=settings.secret_key,
        HUB_DATA_DIR=str(settings.data_dir),
    )
    return subprocess.run([HUB, *args], env=env, capture_output=True, text=True, timeout=180)


def _thread(n: int) -> list[bytes]:
    """A customer's message, a colleague's reply to it, and the customer's reply by References."""
    return [
        mail(
            sender=f"Cust {n} <cust{n}@customer.example>",
            message_id=f"m{n}@customer.example",
            subject=f"Problem {n}",
        ),
        mail(
            sender=f"Colleague {n} <col{n}@customer.example>",
            message_id=f"m{n}-r1@customer.example",
            subject=f"Re: Problem {n}",
            extra={"In-Reply-To": f"<m{n}@customer.example>"},
        ),
        mail(
            sender=f"Cust {n} <cust{n}@customer.example>",
            message_id=f"m{n}-r2@customer.example",
            subject="Re: something new",
            extra={"References": f"<m{n}@customer.example> <m{n}-r1@customer.example>"},
        ),
    ]


async def _counts(inbox_id: int) -> tuple[int, int]:
    pool = engine().pool
    assert pool is not None
    messages = await pool.fetchval("SELECT count(*) FROM message WHERE inbox = $1", inbox_id)
    conversations = await pool.fetchval(
        "SELECT count(*) FROM conversation WHERE inbox = $1", inbox_id
    )
    return int(messages), int(conversations)


async def test_import_mbox_and_maildir_threaded_and_idempotent(
    client: httpx.AsyncClient, settings: Any, tmp_path: Path
) -> None:
    headers = await admin_key(client)
    inbox = await create_inbox(client, headers, email_config())
    box = mailbox.mbox(tmp_path / "archive.mbox")
    for n in range(20):  # 60 messages: enough to use the parsing worker processes
        for raw in _thread(n):
            box.add(raw)
    box.add(mail(sender=ADDRESS, message_id="sent-copy@example.com"))  # our own: a loop, skipped
    box.flush()
    box.close()
    done = _hub(
        settings, "email", "import", str(tmp_path / "archive.mbox"), "--inbox", str(inbox["id"])
    )
    assert done.returncode == 0, done.stderr
    assert "Importing archive.mbox" in done.stderr
    assert "61 messages: 60 stored" in done.stdout and "1 skipped" in done.stdout
    assert await _counts(inbox["id"]) == (60, 20)
    again = _hub(
        settings, "email", "import", str(tmp_path / "archive.mbox"), "--inbox", str(inbox["id"])
    )
    assert again.returncode == 0 and "60 already there" in again.stdout
    assert await _counts(inbox["id"]) == (60, 20)

    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    # Replies first: a Maildir has no order, the import sorts by Date so parents come first.
    for n, raw in enumerate(reversed(_thread(100))):
        dated = raw.replace(
            b"Mon, 23 Nov 2026 10:00:00", f"Mon, 23 Nov 2026 1{2 - n}:00:00".encode()
        )
        maildir.add(dated)
    done = _hub(settings, "email", "import", str(tmp_path / "Maildir"), "--inbox", str(inbox["id"]))
    assert done.returncode == 0, done.stderr
    assert await _counts(inbox["id"]) == (63, 21)


async def test_import_refuses_other_channels(
    client: httpx.AsyncClient, settings: Any, tmp_path: Path
) -> None:
    headers = await admin_key(client)
    response = await client.post(
        "/api/v1/inboxes", json={"name": "api", "channel": "api", "config": {}}, headers=headers
    )
    inbox_id = response.json()["id"]
    (tmp_path / "empty.mbox").write_text("")
    done = _hub(settings, "email", "import", str(tmp_path / "empty.mbox"), "--inbox", str(inbox_id))
    assert done.returncode == 2 and "not an email inbox" in done.stderr
