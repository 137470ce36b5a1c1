"""The subset of Bot API types the adapter reads (core.telegram.org/bots/api#available-types).

Decoded with msgspec: unknown fields are ignored, so new Bot API fields never break parsing,
while a field of the wrong type is a clear PayloadError rather than a crash deep in the adapter.
"""

from __future__ import annotations

from typing import Any

import msgspec


class User(msgspec.Struct, frozen=True):
    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: str = ""
    username: str = ""
    language_code: str = ""

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class Chat(msgspec.Struct, frozen=True):
    id: int
    type: str  # private | group | supergroup | channel
    title: str = ""
    username: str = ""


class PhotoSize(msgspec.Struct, frozen=True):
    file_id: str
    file_unique_id: str
    width: int = 0
    height: int = 0
    file_size: int | None = None


class Document(msgspec.Struct, frozen=True):
    file_id: str
    file_unique_id: str
    file_name: str = ""
    mime_type: str = ""
    file_size: int | None = None


class Voice(msgspec.Struct, frozen=True):
    file_id: str
    file_unique_id: str
    duration: int = 0
    mime_type: str = ""
    file_size: int | None = None


class Audio(msgspec.Struct, frozen=True):
    file_id: str
    file_unique_id: str
    duration: int = 0
    performer: str = ""
    title: str = ""
    file_name: str = ""
    mime_type: str = ""
    file_size: int | None = None


class Video(msgspec.Struct, frozen=True):
    """Also used for animations (GIFs are MPEG-4 on Telegram) and round video notes."""

    file_id: str
    file_unique_id: str
    duration: int = 0
    file_name: str = ""
    mime_type: str = ""
    file_size: int | None = None


class Sticker(msgspec.Struct, frozen=True):
    file_id: str
    file_unique_id: str
    is_animated: bool = False
    is_video: bool = False
    emoji: str = ""
    set_name: str = ""
    thumbnail: PhotoSize | None = None
    file_size: int | None = None


class Location(msgspec.Struct, frozen=True):
    latitude: float
    longitude: float


class Venue(msgspec.Struct, frozen=True):
    location: Location
    title: str = ""
    address: str = ""


class Contact(msgspec.Struct, frozen=True):
    phone_number: str
    first_name: str = ""
    last_name: str = ""
    user_id: int | None = None


class InlineKeyboardButton(msgspec.Struct, frozen=True):
    text: str
    callback_data: str | None = None


class InlineKeyboardMarkup(msgspec.Struct, frozen=True):
    inline_keyboard: list[list[InlineKeyboardButton]] = []


class Message(msgspec.Struct, frozen=True):
    message_id: int
    chat: Chat
    date: int = 0  # 0 for a message the bot can no longer access (callback on an old message)
    from_: User | None = msgspec.field(default=None, name="from")
    edit_date: int | None = None
    text: str = ""
    caption: str = ""
    photo: list[PhotoSize] = []
    document: Document | None = None
    voice: Voice | None = None
    audio: Audio | None = None
    video: Video | None = None
    video_note: Video | None = None
    animation: Video | None = None
    sticker: Sticker | None = None
    location: Location | None = None
    venue: Venue | None = None
    contact: Contact | None = None
    # Kinds the hub cannot show; kept loose so that they are recognised, not decoded.
    poll: Any = None
    dice: Any = None
    game: Any = None
    reply_to_message: Message | None = None
    reply_markup: InlineKeyboardMarkup | None = None
    forward_origin: Any = None
    media_group_id: str | None = None


class CallbackQuery(msgspec.Struct, frozen=True):
    id: str
    from_: User = msgspec.field(name="from")
    chat_instance: str = ""
    message: Message | None = None
    inline_message_id: str | None = None
    data: str | None = None


class Update(msgspec.Struct, frozen=True):
    update_id: int
    message: Message | None = None
    edited_message: Message | None = None
    callback_query: CallbackQuery | None = None


class File(msgspec.Struct, frozen=True):
    file_id: str
    file_unique_id: str = ""
    file_size: int | None = None
    file_path: str | None = None  # absent when Telegram cannot serve the file (over 20 MB)


update_decoder = msgspec.json.Decoder(Update)
updates_decoder = msgspec.json.Decoder(list[Update])

# The update kinds the hub handles; the others are neither fetched nor pushed.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
