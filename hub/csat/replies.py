"""Answers that arrive as messages: a chosen button or list row, or a bare digit right after a
survey. Such a message is the answer instead of a message: it neither reopens the conversation
nor reaches the agents as a customer message (hub.ingest calls `intercept` first).

A choice names its survey (`csat:<survey>:<rating>`, set by `Survey.choice`); it counts only
from the conversation's own contact in the survey's inbox. A bare digit 1-5 counts when the
sender's newest open survey in that inbox is the last message of its conversation.
"""

from __future__ import annotations

import re

from hub.channels.contract import Inbound
from hub.contacts.identities import InvalidIdentity, normalise
from hub.csat import answers
from hub.db.engine import connection_pool
from hub.system import clock

_CHOICE = re.compile(r"csat:([1-9][0-9]{0,17}):([1-5])")
_DIGIT = re.compile(r"\s*([1-5])\s*[.!)]?\s*")


def _parsed(inbound: Inbound) -> tuple[int | None, int] | None:
    """(survey id or None for "the latest", rating) when the message looks like an answer."""
    choice = _CHOICE.fullmatch(inbound.reply_choice or "")
    if choice:
        return int(choice.group(1)), int(choice.group(2))
    if inbound.attachments or inbound.edit_of or inbound.auto_reply:
        return None
    digit = _DIGIT.fullmatch(inbound.text)
    return (None, int(digit.group(1))) if digit else None


_SENDER = "SELECT i.contact FROM contact_identity i WHERE i.kind = $1 AND i.address = $2"
_LATEST = (
    "SELECT s.id FROM conversation c JOIN csat_survey s ON s.conversation = c.id"
    " WHERE c.contact = $1 AND c.inbox = $2 AND s.status = 'sent' AND s.expires_at > $3"
    " AND NOT EXISTS (SELECT 1 FROM message m WHERE m.conversation = c.id AND m.id > s.message"
    " AND m.kind = 'message') ORDER BY s.id DESC LIMIT 1"
)


async def intercept(inbound: Inbound) -> tuple[int, int, bool] | None:
    """Store the message as a survey answer if it is one: (timeline line id, conversation id,
    created); None to ingest it as a normal message."""
    parsed = _parsed(inbound)
    if parsed is None:
        return None
    survey_id, rating = parsed
    try:
        sender = normalise(inbound.sender)
    except InvalidIdentity:
        return None
    async with connection_pool().acquire() as conn:
        seen = await conn.fetchrow(
            "SELECT id, conversation FROM message WHERE inbox = $1 AND provider_message_id = $2",
            inbound.inbox_id,
            inbound.provider_message_id,
        )
        if seen is not None:
            # Seen before: an answer already stored (or a normal message, which ingest returns).
            return (seen["id"], seen["conversation"], False) if survey_id else None
        contact = await conn.fetchval(_SENDER, sender.kind, sender.address)
        if contact is None:
            return None
        if survey_id is None:
            survey_id = await conn.fetchval(_LATEST, contact, inbound.inbox_id, clock.now())
            if survey_id is None:
                return None
        elif not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM csat_survey WHERE id = $1 AND inbox = $2)",
            survey_id,
            inbound.inbox_id,
        ):
            return None
    try:
        answer = await answers.record(
            survey_id,
            rating,
            None,
            via=inbound.channel,
            contact_id=contact,
            provider_message_id=inbound.provider_message_id,
        )
    except answers.Refused:
        return None  # closed, not theirs: the message goes to the agents like any other
    if answer.message_id is None:
        return None
    return answer.message_id, answer.conversation, True
