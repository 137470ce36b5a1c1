"""A small IMAP session over aioimaplib: select, list new UIDs, fetch, IDLE, mark or move.

Everything is by UID so that a poll can resume exactly where the last committed one ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from types import TracebackType
from typing import Any

import aioimaplib

from adapters.email.config import EmailConfig

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH_UID = re.compile(rb"\bUID (\d+)")
_LITERAL = re.compile(rb"\{(\d+)\}$")
FETCH_CHUNK = 25  # messages per FETCH round trip: bounded memory, few round trips


class ImapError(Exception):
    """The server refused a command or could not be reached."""


def tls_context(config: EmailConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=config.tls_ca_file or None)
    if not config.tls_verify:
        # Self-hosted servers with self-signed certificates, when the admin chose so explicitly.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _ok(response: Any, what: str) -> Any:
    if response.result != "OK":
        detail = b" ".join(bytes(line) for line in response.lines).decode("utf-8", "replace")
        raise ImapError(f"IMAP {what} failed: {detail.strip() or response.result}")
    return response


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapSession:
    """`async with ImapSession(config) as imap:` logs in and selects the configured folder."""

    def __init__(self, config: EmailConfig, *, timeout: float = 30.0) -> None:
        self.config = config
        self.timeout = timeout
        self.client: aioimaplib.IMAP4 | None = None
        self.uidvalidity = 0

    async def __aenter__(self) -> ImapSession:
        cfg = self.config
        try:
            if cfg.imap_security == "ssl":
                self.client = aioimaplib.IMAP4_SSL(
                    host=cfg.imap_host,
                    port=cfg.imap_port,
                    timeout=self.timeout,
                    ssl_context=tls_context(cfg),
                )
            else:
                self.client = aioimaplib.IMAP4(
                    host=cfg.imap_host, port=cfg.imap_port, timeout=self.timeout
                )
            await self.client.wait_hello_from_server()
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            raise ImapError(
                f"cannot reach the IMAP server {cfg.imap_host}:{cfg.imap_port}: {exc}"
            ) from exc
        _ok(await self.client.login(cfg.imap_username, cfg.imap_password), "login")
        await self.select(cfg.imap_folder)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.client is None:
            return
        # The server may already have gone; nothing is lost by not saying goodbye.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.logout(), 5)

    @property
    def imap(self) -> aioimaplib.IMAP4:
        assert self.client is not None
        return self.client

    async def select(self, folder: str) -> None:
        response = _ok(await self.imap.select(_quote(folder)), f"SELECT {folder}")
        for line in response.lines:
            match = _UIDVALIDITY.search(bytes(line))
            if match:
                self.uidvalidity = int(match.group(1))

    def has(self, capability: str) -> bool:
        return self.imap.has_capability(capability)

    async def uids_after(self, last_uid: int) -> list[int]:
        response = _ok(
            await self.imap.uid_search(f"UID {last_uid + 1}:*", charset=None), "UID SEARCH"
        )
        uids: set[int] = set()
        for line in response.lines[:-1]:
            uids.update(int(tok) for tok in bytes(line).split() if tok.isdigit())
        # "n:*" always matches the last message, even when its UID is below n.
        return sorted(u for u in uids if u > last_uid)

    async def fetch(self, uids: list[int]) -> list[tuple[int, bytes]]:
        """(uid, raw message) for each UID that still exists, in UID order."""
        out: list[tuple[int, bytes]] = []
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start : start + FETCH_CHUNK]
            response = _ok(
                await self.imap.uid("fetch", ",".join(map(str, chunk)), "(UID BODY.PEEK[])"),
                "UID FETCH",
            )
            out.extend(_parse_fetch(response.lines))
        return sorted(out)

    async def mark(self, first: int, last: int, *, move_to: str = "") -> None:
        """Mark UIDs first..last seen, or move them to another folder."""
        if last < first:
            return
        span = f"{first}:{last}"
        if move_to:
            if self.has("MOVE"):
                _ok(await self.imap.uid("move", span, _quote(move_to)), "UID MOVE")
                return
            _ok(await self.imap.uid("copy", span, _quote(move_to)), "UID COPY")
            _ok(await self.imap.uid("store", span, "+FLAGS.SILENT (\\Seen \\Deleted)"), "UID STORE")
            if self.has("UIDPLUS"):
                _ok(await self.imap.uid("expunge", span), "UID EXPUNGE")
            return
        _ok(await self.imap.uid("store", span, "+FLAGS.SILENT (\\Seen)"), "UID STORE")

    async def idle(self, seconds: float) -> bool:
        """Wait up to `seconds` for the server to announce new mail; True if it did."""
        if seconds <= 0 or not self.has("IDLE"):
            return False
        waiter = await self.imap.idle_start(timeout=seconds)
        arrived = False
        try:
            while True:
                pushed = await self.imap.wait_server_push(timeout=seconds + 5)
                lines = pushed if isinstance(pushed, list) else [pushed]
                if any(b"stop_wait_server_push" in bytes(line) for line in lines):
                    break
                if any(bytes(line).endswith((b"EXISTS", b"RECENT")) for line in lines):
                    arrived = True
                    break
        except TimeoutError:
            pass
        finally:
            self.imap.idle_done()
            await asyncio.wait_for(waiter, self.timeout)
        return arrived

    async def append(self, raw: bytes, folder: str = "INBOX") -> None:
        _ok(await self.imap.append(raw, mailbox=_quote(folder)), "APPEND")


def _parse_fetch(lines: list[Any]) -> list[tuple[int, bytes]]:
    """(uid, body) pairs from FETCH response lines: a header line ending in {n}, then the bytes."""
    out: list[tuple[int, bytes]] = []
    pending: bytes | None = None
    uid: int | None = None
    for line in lines:
        if isinstance(line, bytearray):
            pending = bytes(line)
            if uid is not None:
                out.append((uid, pending))
                pending, uid = None, None
            continue
        match = _FETCH_UID.search(line)
        if match and b"FETCH" in line:
            uid = int(match.group(1))
            pending = None
        elif match and pending is not None:
            # Some servers send the UID after the literal: "BODY[] {n}" … " UID 7)".
            out.append((int(match.group(1)), pending))
            pending, uid = None, None
    return out
