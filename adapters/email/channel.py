"""The email channel: IMAP in, SMTP out.

Polling and the "only after commit" rule: `hub.ingest.polling` saves the state a poll returns only after
the hub has committed the poll's items. So a poll never marks what it just fetched; it marks, at
its start, the UIDs up to the `last_uid` the previous poll saved — which are exactly the
committed ones. A crash between fetch and commit re-fetches (ingest is idempotent on the
Message-ID) instead of losing mail, and a message is never marked seen before it is stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, ClassVar

from aioimaplib import AioImapException

from adapters.email import compose, smtp
from adapters.email.config import EmailConfig, load
from adapters.email.convert import Converter
from adapters.email.imap import ImapError, ImapSession
from adapters.email.threading_hints import referenced_ids
from hub.channels.contract import (
    BaseAdapter,
    DeliveryUpdate,
    Inbound,
    Outbound,
    PermanentSendError,
    PollResult,
)

log = logging.getLogger(__name__)


def _secret_key() -> str:
    # The adapter has no key of its own: the process's settings hold the instance secret.
    from hub.system.services import current

    return current().settings.secret_key


class EmailChannel(BaseAdapter):
    kind: ClassVar[str] = "email"
    max_text_length: ClassVar[int] = 100_000
    supports_attachments: ClassVar[bool] = True
    max_attachment_bytes: ClassVar[int] = 20 * 1024 * 1024
    secret_fields: ClassVar[tuple[str, ...]] = ("imap_password", "smtp_password")
    # SMTP falls back to the IMAP password when it has none of its own.
    host_bound_secrets: ClassVar[dict[str, tuple[str, ...]]] = {
        "imap_host": ("imap_password",),
        "smtp_host": ("smtp_password", "imap_password"),
    }
    polls: ClassVar[bool] = True

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        load(config)  # raises ValueError with a sentence for the admin
        # Stored as given (address normalised); defaults are applied when the settings are used,
        # so that a later change of imap_password still reaches SMTP when it shares the password.
        return {**config, "address": str(config["address"]).strip().lower()}

    def __init__(self, *, inbox_id: int, config: dict[str, Any], public_url: str) -> None:
        super().__init__(inbox_id=inbox_id, config=config, public_url=public_url)
        self.settings: EmailConfig = load(config)

    def wants_polling(self) -> bool:
        return bool(self.settings.imap_host)

    def converter(self) -> Converter:
        return Converter(
            inbox_id=self.inbox_id, address=self.settings.address, secret_key=_secret_key()
        )

    # Receiving ----------------------------------------------------------------------------------

    async def poll(self, state: dict[str, Any]) -> PollResult:
        cfg = self.settings
        now = time.time()
        last_poll = float(state.get("polled_at", 0))
        if now - last_poll < cfg.poll_interval and not state.get("more") and not state.get("idle"):
            return PollResult([], state)
        try:
            async with ImapSession(cfg) as imap:
                return await self._poll(imap, dict(state), now)
        except (TimeoutError, ImapError, AioImapException, OSError) as exc:
            # Nothing was fetched, so nothing is lost: log it and try again on the next tick.
            log.warning("inbox %s: %s", self.inbox_id, exc)
            return PollResult([], {**state, "polled_at": now, "error": str(exc)})

    async def _poll(self, imap: ImapSession, state: dict[str, Any], now: float) -> PollResult:
        cfg = self.settings
        last_uid = int(state.get("last_uid", 0))
        marked = int(state.get("marked_uid", 0))
        if state.get("uidvalidity") not in (None, imap.uidvalidity):
            # The mailbox was rebuilt: its UIDs mean nothing any more. Fetch it all again; ingest
            # recognises each message by its Message-ID, so nothing is skipped or imported twice.
            log.warning(
                "inbox %s: UIDVALIDITY changed (%s → %s); re-reading the folder",
                self.inbox_id,
                state.get("uidvalidity"),
                imap.uidvalidity,
            )
            last_uid = marked = 0
        elif last_uid > marked:
            # These were committed before the state holding them was saved (see module docstring).
            await imap.mark(
                marked + 1,
                last_uid,
                move_to=cfg.move_to_folder if cfg.after_import == "move" else "",
            )
            marked = last_uid
        uids = await imap.uids_after(last_uid)
        idled = False
        if not uids and cfg.idle_seconds and imap.has("IDLE"):
            idled = True
            if await imap.idle(cfg.idle_seconds):
                uids = await imap.uids_after(last_uid)
        batch = uids[: cfg.batch_size]
        fetched = await imap.fetch(batch)
        items, last_uid = await self._convert(fetched, last_uid)
        new_state = {
            "uidvalidity": imap.uidvalidity,
            "last_uid": last_uid,
            "marked_uid": marked,
            "polled_at": now,
            # Poll again at once (not after poll_interval) while there is a backlog, to mark what
            # this poll fetched once it is committed, or to go back into IDLE.
            "more": bool(items) or (bool(uids) and last_uid < uids[-1]),
            "idle": idled,
        }
        return PollResult(items, new_state)

    async def _convert(
        self, fetched: list[tuple[int, bytes]], last_uid: int
    ) -> tuple[list[Inbound | DeliveryUpdate], int]:
        """Items of a fetched batch, stopping before a message that replies to one in the batch.

        A reply can only find its conversation once its parent is committed, and the hub commits
        after poll() returns; such a reply is left for the next poll, which comes right away.
        """
        converter = self.converter()
        items: list[Inbound | DeliveryUpdate] = []
        in_batch: set[str] = set()
        for uid, raw in fetched:
            parsed = converter.parse(raw)
            if parsed is not None and in_batch and in_batch.intersection(referenced_ids(parsed)):
                break
            if parsed is None:
                items.append(converter.unparseable(raw))
            else:
                items.extend(await converter.items(raw, parsed))
            if parsed is not None:
                in_batch.add(parsed.message_id)
            last_uid = uid
            await asyncio.sleep(0)  # parsing is CPU work: let the worker's other jobs breathe
        return items, last_uid

    # Sending ------------------------------------------------------------------------------------

    async def send(self, message: Outbound) -> str:
        from hub.conversations import threading as hub_threading

        cfg = self.settings
        if not message.recipient.address or message.recipient.kind != "email":
            raise PermanentSendError("the contact has no email address")
        token = hub_threading.reply_token(_secret_key(), message.conversation_id)
        # Only Message-IDs belong in References: a conversation can also hold other channels'
        # provider ids (e.g. `webchat:55` when a chat reply is emailed to an away visitor).
        references = [
            ref
            for ref in await hub_threading.provider_ids_of(message.conversation_id)
            if "@" in ref
        ]
        # A merged conversation names the first message of every thread merged into it, so the
        # customer's client files the reply with each of them (kept when References is cut).
        roots = [
            ref
            for ref in await hub_threading.merged_thread_roots(message.conversation_id)
            if "@" in ref
        ]

        mail = compose.build(
            message,
            cfg,
            token=token,
            references=references,
            roots=roots,
            secret_key=_secret_key(),
            auto_reply=bool((message.template or {}).get("auto_reply")),
        )
        await smtp.send(mail, cfg)
        return compose.message_id(
            message.conversation_id, message.message_id, cfg.domain, _secret_key()
        )
