"""Disk full for attachments: the message is kept, the file marked missing, and the log says so."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import httpx
import pytest

from hub.channels.contract import Identity, Inbound, InboundAttachment
from hub.ingest import pipeline
from hub.storage import attachments
from tests.conftest import admin_key, make_api_inbox, unique


async def test_attachment_store_full_keeps_the_message(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)

    def full(root: Path, data: bytes) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    # The storage layer's write, as the disk would answer it (tmpfs needs privileges we lack).
    monkeypatch.setattr(attachments, "_write", full)
    with caplog.at_level(logging.ERROR, logger="hub.ingest.pipeline"):
        result = await pipeline.ingest(
            Inbound(
                channel="api",
                inbox_id=inbox["id"],
                provider_message_id=unique("full"),
                sender=Identity("phone", "+4511111111"),
                text="photo of the router attached",
                attachments=[InboundAttachment("router.jpg", "image/jpeg", data=b"\xff\xd8" * 50)],
            )
        )
    assert result.created
    message = (
        await client.get(
            f"/api/v1/conversations/{result.conversation_id}/messages", headers=headers
        )
    ).json()["items"][0]
    assert message["text"] == "photo of the router attached" and message["attachments"] == []
    [missing] = message["meta"]["dropped_attachments"]
    assert missing["missing"] is True and missing["filename"] == "router.jpg"
    assert "No space left on device" in missing["reason"]
    assert any(
        "NOT STORED" in r.getMessage() and "router.jpg" in r.getMessage() for r in caplog.records
    )
