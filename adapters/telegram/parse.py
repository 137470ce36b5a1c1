"""Telegram updates → `Inbound`: what the customer wrote, sent, shared or pressed.

Provider message ids are derived from the update's content, not from `update_id`, so a
redelivered update (webhook retry, unconfirmed getUpdates) maps to the same id and ingest makes
it a no-op:
- a message: `<chat id>:<message id>`
- an edit: `<chat id>:<message id>:edit:<edit_date>` (one per edit; `meta.edit_of` names the original)
- a button press: `<chat id>:callback:<callback query id>`
Outbound replies read the chat (and the message to quote) back from these ids.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import msgspec

from adapters.telegram.wire import CallbackQuery, Message, Update, User
from hub.channels.contract import Identity, IdentityKind, Inbound, InboundAttachment, ThreadHints

KIND = "telegram"


class Media(msgspec.Struct, frozen=True):
    """A file the customer sent, to fetch through getFile before ingest."""

    file_id: str
    filename: str
    content_type: str
    size: int | None
    label: str  # for the agent, when the file cannot be fetched: "photo", "voice message", …


class Files(Protocol):
    async def fetch(self, media: Media) -> InboundAttachment | str:
        """The file's content, or a sentence saying why it was not fetched."""


def message_id(chat_id: int, message_id: int) -> str:
    return f"{chat_id}:{message_id}"


def reply_target(provider_id: str | None) -> tuple[int | None, int | None]:
    """(chat id, message id) read back from one of our provider ids; None where it has none."""
    if not provider_id:
        return None, None
    parts = provider_id.split(":")
    try:
        chat = int(parts[0])
    except ValueError:
        return None, None
    message = int(parts[1]) if len(parts) > 1 and parts[1].lstrip("-").isdigit() else None
    return chat, message


def _timestamp(value: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value, dt.UTC) if value else None


def _identity(user: User) -> Identity:
    return Identity(IdentityKind.TELEGRAM, str(user.id), user.full_name or user.username)


def _user_meta(user: User) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if user.username:
        meta["username"] = user.username
    if user.language_code:
        meta["language_code"] = user.language_code
    return meta


def _map_link(latitude: float, longitude: float) -> str:
    return (
        f"https://www.openstreetmap.org/?mlat={latitude:.6f}&mlon={longitude:.6f}"
        f"#map=17/{latitude:.6f}/{longitude:.6f}"
    )


def _files(message: Message) -> list[Media]:
    """The files of a message, each as Telegram's largest or most useful rendition."""
    media: list[Media] = []
    if message.photo:
        # Sizes come smallest first; take the largest rather than trusting the order.
        p = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        media.append(
            Media(p.file_id, f"photo_{p.file_unique_id}.jpg", "image/jpeg", p.file_size, "photo")
        )
    if message.animation:
        # An animation also carries `document` for old clients: take it once, as the video it is.
        a = message.animation
        name = a.file_name or f"animation_{a.file_unique_id}.mp4"
        media.append(Media(a.file_id, name, a.mime_type or "video/mp4", a.file_size, "animation"))
    elif message.document:
        d = message.document
        name = d.file_name or f"document_{d.file_unique_id}"
        kind = d.mime_type or "application/octet-stream"
        media.append(Media(d.file_id, name, kind, d.file_size, "document"))
    if message.voice:
        v = message.voice
        name = f"voice_{v.file_unique_id}.ogg"
        media.append(
            Media(v.file_id, name, v.mime_type or "audio/ogg", v.file_size, "voice message")
        )
    if message.audio:
        au = message.audio
        name = au.file_name or f"audio_{au.file_unique_id}.mp3"
        media.append(Media(au.file_id, name, au.mime_type or "audio/mpeg", au.file_size, "audio"))
    for video, label in ((message.video, "video"), (message.video_note, "video message")):
        if video:
            name = video.file_name or f"{label.replace(' ', '_')}_{video.file_unique_id}.mp4"
            kind = video.mime_type or "video/mp4"
            media.append(Media(video.file_id, name, kind, video.file_size, label))
    if message.sticker:
        s = message.sticker
        name = f"sticker_{s.file_unique_id}"
        if (s.is_animated or s.is_video) and s.thumbnail:
            # Animated (.tgs) and video (.webm) stickers show nowhere else: keep their still image.
            t = s.thumbnail
            media.append(Media(t.file_id, f"{name}.webp", "image/webp", t.file_size, "sticker"))
        elif s.is_animated:
            kind = "application/x-tgsticker"
            media.append(Media(s.file_id, f"{name}.tgs", kind, s.file_size, "sticker"))
        elif s.is_video:
            media.append(Media(s.file_id, f"{name}.webm", "video/webm", s.file_size, "sticker"))
        else:
            media.append(Media(s.file_id, f"{name}.webp", "image/webp", s.file_size, "sticker"))
    return media


def _descriptions(message: Message) -> tuple[list[str], dict[str, Any]]:
    """Text lines for what has no file (stickers, places, contact cards) and their meta."""
    lines: list[str] = []
    meta: dict[str, Any] = {}
    if message.audio and message.audio.title:
        meta["audio_title"] = " - ".join(
            p for p in (message.audio.performer, message.audio.title) if p
        )
    if message.sticker:
        lines.append(f"Sticker {message.sticker.emoji}".rstrip())
        if message.sticker.set_name:
            meta["sticker_set"] = message.sticker.set_name
    location = message.venue.location if message.venue else message.location
    if location:
        where = f"{location.latitude:.6f}, {location.longitude:.6f}"
        if message.venue:
            venue = ", ".join(p for p in (message.venue.title, message.venue.address) if p)
            where = f"{venue} ({where})"
        lines.append(f"Location: {where}\n{_map_link(location.latitude, location.longitude)}")
        meta["location"] = {"latitude": location.latitude, "longitude": location.longitude}
    if message.contact:
        c = message.contact
        card = ", ".join(
            p for p in (" ".join(n for n in (c.first_name, c.last_name) if n), c.phone_number) if p
        )
        lines.append(f"Shared contact: {card}")
        meta["shared_contact"] = msgspec.to_builtins(c)
    for kind in ("poll", "dice", "game"):
        if getattr(message, kind) is not None:
            lines.append(f"[a Telegram {kind}, which the hub cannot show]")
    if message.forward_origin is not None:
        meta["forwarded"] = True
    return lines, meta


def content(message: Message) -> tuple[list[str], list[Media], dict[str, Any]]:
    """The text lines, files and extra meta of a message (pure: no network)."""
    body = message.text or message.caption
    lines, meta = _descriptions(message)
    return ([body] if body else []) + lines, _files(message), meta


async def _message_inbound(
    update: Update,
    message: Message,
    *,
    inbox_id: int,
    allow_groups: bool,
    files: Files,
    edited: bool,
) -> Inbound | None:
    sender = message.from_
    if sender is None or sender.is_bot:
        return None  # channel posts, anonymous group admins, other bots: nobody to answer
    if message.chat.type != "private" and not (
        allow_groups and message.chat.type in ("group", "supergroup")
    ):
        return None
    lines, media, meta = content(message)
    if not lines and not media:
        return None  # a service message (member joined, chat photo changed, …)
    attachments: list[InboundAttachment] = []
    for item in media:
        fetched = await files.fetch(item)
        if isinstance(fetched, str):
            lines.append(f"[{item.label} {item.filename} not downloaded: {fetched}]")
        else:
            attachments.append(fetched)
    chat_id = message.chat.id
    original = message_id(chat_id, message.message_id)
    provider_id = original
    reply_to = (
        message_id(chat_id, message.reply_to_message.message_id)
        if message.reply_to_message
        else None
    )
    text = "\n".join(lines)
    edit_of = None
    if edited:
        # The hub replaces the original's text in place (keeping the old text in its meta); the
        # edit id makes a redelivered edit a no-op.
        provider_id = f"{original}:edit:{message.edit_date or 0}"
        edit_of = original
        meta["edit_of"] = original
        reply_to = original
    meta.update(
        _user_meta(sender),
        update_id=update.update_id,
        chat_id=chat_id,
        chat_type=message.chat.type,
        message_id=message.message_id,
    )
    if message.chat.title:
        meta["chat_title"] = message.chat.title
    if message.media_group_id:
        meta["media_group_id"] = message.media_group_id
    return Inbound(
        channel=KIND,
        inbox_id=inbox_id,
        provider_message_id=provider_id,
        sender=_identity(sender),
        text=text,
        attachments=attachments,
        hints=ThreadHints(reply_to_provider_id=reply_to),
        sent_at=_timestamp(message.edit_date if edited else message.date),
        meta=meta,
        edit_of=edit_of,
    )


def _button_label(query: CallbackQuery) -> str | None:
    markup = query.message.reply_markup if query.message else None
    for row in markup.inline_keyboard if markup else []:
        for button in row:
            if button.callback_data is not None and button.callback_data == query.data:
                return button.text
    return None


def callback_inbound(
    update: Update, query: CallbackQuery, *, inbox_id: int, allow_groups: bool
) -> Inbound | None:
    """A press on one of our inline buttons, recorded as what the customer chose."""
    if query.from_.is_bot:
        return None
    message = query.message
    if message is not None and message.chat.type != "private" and not allow_groups:
        return None
    chat_id = message.chat.id if message else query.from_.id
    label = _button_label(query)
    if label and query.data and label != query.data:
        text = f"Pressed button: {label} ({query.data})"
    elif label or query.data:
        text = f"Pressed button: {label or query.data}"
    else:
        text = "Pressed a button"
    meta: dict[str, Any] = {
        **_user_meta(query.from_),
        "update_id": update.update_id,
        "chat_id": chat_id,
        "callback_query_id": query.id,
    }
    if query.data is not None:
        meta["callback_data"] = query.data
    return Inbound(
        channel=KIND,
        inbox_id=inbox_id,
        provider_message_id=f"{chat_id}:callback:{query.id}",
        sender=_identity(query.from_),
        text=text,
        reply_choice=query.data,
        hints=ThreadHints(
            reply_to_provider_id=message_id(chat_id, message.message_id) if message else None
        ),
        meta=meta,
    )


async def inbound(
    update: Update, *, inbox_id: int, allow_groups: bool, files: Files
) -> Inbound | None:
    """The message an update records, or None for updates the hub ignores."""
    message = update.message if update.message is not None else update.edited_message
    if message is not None:
        return await _message_inbound(
            update,
            message,
            inbox_id=inbox_id,
            allow_groups=allow_groups,
            files=files,
            edited=message is update.edited_message,
        )
    if update.callback_query is not None:
        return callback_inbound(
            update, update.callback_query, inbox_id=inbox_id, allow_groups=allow_groups
        )
    return None
