"""Which conversation an incoming email continues, exactly in the order of contracts/email.md.

1. a reply token in a recipient address (support+<token>@domain);
2. In-Reply-To / References naming a message the hub stored (sent or received) — except that a
   stored newsletter (bulk mail) only threads replies from that conversation's participants;
3. `[#ref]` in the subject, only from a participant of that conversation;
4. otherwise a new conversation. Never by subject text alone.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from adapters.email.lookups import matches_for_ids
from adapters.email.parse import ParsedEmail
from hub.channels.contract import Identity, ThreadHints
from hub.conversations import threading as hub_threading

_SUBJECT_REF = re.compile(r"\[#(\d{1,12})\]")


@dataclass(slots=True)
class Pending:
    """A message of the current import run whose conversation is known once it is committed."""

    conversation: asyncio.Future[int]
    bulk: bool


@dataclass
class Recent:
    """Messages handed to ingest in this run but maybe not committed yet (bulk imports)."""

    by_message_id: dict[str, Pending] = field(default_factory=dict)


def reply_address(address: str, token: str) -> str:
    local, domain = address.split("@", 1)
    return f"{local}+{token}@{domain}"


def tokens_in(parsed: ParsedEmail, address: str) -> list[str]:
    """Reply tokens in the recipient addresses (To, Cc, Delivered-To, X-Original-To)."""
    local, domain = address.split("@", 1)
    prefix = f"{local}+"
    found = []
    for candidate in [a for _, a in parsed.to + parsed.cc] + parsed.recipients_extra:
        cand_local, _, cand_domain = candidate.rpartition("@")
        if cand_domain == domain and cand_local.startswith(prefix):
            found.append(cand_local[len(prefix) :])
    return found


def referenced_ids(parsed: ParsedEmail) -> list[str]:
    """In-Reply-To first, then References newest first (the parent is the best match)."""
    return list(dict.fromkeys([*parsed.in_reply_to, *reversed(parsed.references)]))


async def _by_ids(
    inbox_id: int, ids: list[str], sender: Identity, recent: Recent | None
) -> int | None:
    if recent is not None:
        for message_id in ids:
            pending = recent.by_message_id.get(message_id)
            if pending is not None:
                conversation = await pending.conversation  # committed from here on
                if conversation and not pending.bulk:
                    return conversation
                break  # a newsletter: decide from the database like any other
    matches = await matches_for_ids(inbox_id, ids)
    for match in matches:
        if not match.bulk:
            return match.conversation_id
    for match in matches:
        # Replies to a newsletter thread only for people already in that conversation.
        if await hub_threading.conversation_by_ref(inbox_id, match.ref, sender):
            return match.conversation_id
    return None


def _hints(parsed: ParsedEmail, **found: Any) -> ThreadHints:
    return ThreadHints(
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references[-20:],
        **found,
    )


async def decide(
    parsed: ParsedEmail,
    *,
    inbox_id: int,
    address: str,
    secret_key: str,
    sender: Identity,
    recent: Recent | None = None,
) -> ThreadHints:
    for token in tokens_in(parsed, address):
        conversation = hub_threading.conversation_for_token(secret_key, token)
        if conversation is not None:
            return _hints(parsed, reply_token=token, conversation_id=conversation)
    ids = referenced_ids(parsed)
    if ids:
        conversation = await _by_ids(inbox_id, ids, sender, recent)
        if conversation is not None:
            return _hints(parsed, reply_to_provider_id=ids[0], conversation_id=conversation)
    for ref in _SUBJECT_REF.findall(parsed.subject):
        conversation = await hub_threading.conversation_by_ref(inbox_id, int(ref), sender)
        if conversation is not None:
            return _hints(parsed, conversation_id=conversation)
    return _hints(parsed, new_conversation=True)
