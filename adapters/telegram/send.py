"""Replies: text, photos and documents, quoting the customer's message, with Telegram's errors
mapped onto the hub's transient/permanent split.

Text longer than 4,096 characters is refused by the hub before it is stored (the adapter declares
`max_text_length`), so one reply is at most one text message plus its files. A reply with one
file and a short text is sent as one captioned message.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from adapters.telegram.api import (
    PHOTO_UPLOAD_LIMIT_BYTES,
    UPLOAD_LIMIT_BYTES,
    BotApi,
    TelegramApiError,
    Upload,
)
from adapters.telegram.parse import message_id, reply_target
from hub.channels.contract import (
    Outbound,
    OutboundAttachment,
    PermanentSendError,
    TransientSendError,
)

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
# A 429 asking for at most this long is waited out inside the attempt, so the parts of a reply
# already sent are not sent again; a longer flood wait goes back to the hub's retry.
INLINE_WAIT_SECONDS = 10.0
UPLOAD_TIMEOUT_SECONDS = 45.0  # below the dispatch job's 60 s
PHOTO_TYPES = frozenset({"image/jpeg", "image/png"})


def send_error(exc: TelegramApiError) -> TransientSendError | PermanentSendError:
    if exc.transient:
        return TransientSendError(f"Telegram: {exc.description}", retry_after=exc.retry_after)
    if exc.code in (401, 404):
        return PermanentSendError(
            f"Telegram rejected the bot token ({exc.description}); update the inbox's bot_token",
            code=str(exc.code),
        )
    # 403 "Forbidden: bot was blocked by the user" / "user is deactivated", 400 "chat not found", …
    return PermanentSendError(
        f"Telegram refused the message: {exc.description}", code=str(exc.code)
    )


async def _call(
    api: BotApi,
    method: str,
    params: dict[str, Any],
    *,
    files: dict[str, Upload] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    waited = 0.0
    while True:
        try:
            result: dict[str, Any] = await api.call(method, params, files=files, timeout=timeout)
            return result
        except TelegramApiError as exc:
            wait = exc.retry_after
            if exc.code == 429 and wait is not None and waited + wait <= INLINE_WAIT_SECONDS:
                await asyncio.sleep(wait)
                waited += wait
                continue
            raise


def _check_sizes(attachments: list[OutboundAttachment]) -> None:
    """Refuse before the first call, so a reply is never cut short after its first part went."""
    for att in attachments:
        if att.size > UPLOAD_LIMIT_BYTES:
            raise PermanentSendError(
                f"{att.filename} is {att.size} bytes; Telegram bots can send at most"
                f" {UPLOAD_LIMIT_BYTES // (1024 * 1024)} MB",
                code="too_large",
            )


async def _send_file(
    api: BotApi, params: dict[str, Any], att: OutboundAttachment, caption: str
) -> dict[str, Any]:
    content = await asyncio.to_thread(Path(att.path).read_bytes)
    upload: Upload = (att.filename, content, att.content_type)
    extra = {**params, "caption": caption or None}
    if att.content_type in PHOTO_TYPES and len(content) <= PHOTO_UPLOAD_LIMIT_BYTES:
        try:
            return await _call(
                api, "sendPhoto", extra, files={"photo": upload}, timeout=UPLOAD_TIMEOUT_SECONDS
            )
        except TelegramApiError as exc:
            if exc.code != 400:
                raise
            # An image Telegram will not show as a photo (dimensions, format) still goes as a file.
    return await _call(
        api, "sendDocument", extra, files={"document": upload}, timeout=UPLOAD_TIMEOUT_SECONDS
    )


async def send(api: BotApi, message: Outbound) -> str:
    """Deliver a reply; returns the provider id of its first Telegram message."""
    _check_sizes(message.attachments)
    reply_chat, reply_message = reply_target(message.reply_to_provider_id)
    # The chat the customer last wrote from: their private chat, or a group when groups are on.
    chat_id = reply_chat if reply_chat is not None else message.recipient.address
    params: dict[str, Any] = {"chat_id": chat_id}
    if reply_message is not None:
        # Quote the customer's message; a message deleted since must not make the reply fail.
        params["reply_parameters"] = {
            "message_id": reply_message,
            "allow_sending_without_reply": True,
        }
    text = message.text.strip()
    attachments = list(message.attachments)
    caption = ""
    if len(attachments) == 1 and len(text) <= MAX_CAPTION_LENGTH:
        caption, text = text, ""
    sent: list[dict[str, Any]] = []
    if message.survey is not None:
        # A CSAT survey: one row of buttons 1-5; a press comes back as a callback_query whose
        # data the hub reads as the answer (Inbound.reply_choice).
        params["reply_markup"] = {
            "inline_keyboard": [
                [
                    {"text": str(n), "callback_data": message.survey.choice(n)}
                    for n in message.survey.ratings
                ]
            ]
        }
    try:
        if text:
            sent.append(await _call(api, "sendMessage", {**params, "text": text}))
        for att in attachments:
            # Only the first part quotes the customer; the rest follow it.
            part = params if not sent else {"chat_id": chat_id}
            sent.append(await _send_file(api, part, att, caption))
    except TelegramApiError as exc:
        raise send_error(exc) from None
    if not sent:
        raise PermanentSendError("the reply has neither text nor files")
    first = sent[0]
    return message_id(int(first["chat"]["id"]), int(first["message_id"]))
