"""The contract between channel adapters and the hub: normalised structs and the adapter protocol.

Adapters turn a provider's payload into `Inbound` / `DeliveryUpdate`, and an `Outbound` into a
provider call. They are found by channel kind through the `hub.channels` entry-point group, so a
new channel is a new package, never an edit of the core.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from functools import cache
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol

import msgspec


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"  # E.164; WhatsApp numbers use this kind too, so one person is one contact
    TELEGRAM = "telegram"
    WEBCHAT = "webchat"
    API = "api"  # an opaque id from an API-channel integration
    SPLYNX = "splynx"


class Identity(msgspec.Struct, frozen=True):
    kind: str
    address: str
    name: str = ""


class InboundAttachment(msgspec.Struct, frozen=True):
    filename: str
    content_type: str = "application/octet-stream"
    data: bytes | None = None  # the content, when the payload carried it
    url: str | None = None  # where the adapter can fetch it otherwise


class ThreadHints(msgspec.Struct, frozen=True):
    """What a channel knows about which conversation a message continues."""

    message_id: str | None = None  # email Message-ID
    in_reply_to: list[str] = []
    references: list[str] = []
    reply_token: str | None = None
    reply_to_provider_id: str | None = None  # the provider id of the message replied to
    conversation_id: int | None = None  # set by a channel that knows (e.g. the widget session)
    new_conversation: bool = False  # the channel knows this starts a new conversation


class Inbound(msgspec.Struct, frozen=True, kw_only=True):
    channel: str
    inbox_id: int
    provider_message_id: str  # the idempotency key within the inbox
    sender: Identity
    text: str = ""
    html: str = ""
    subject: str = ""
    attachments: list[InboundAttachment] = []
    hints: ThreadHints = ThreadHints()
    sent_at: dt.datetime | None = None
    auto_reply: bool = False  # recorded, but neither reopens nor counts as unread
    # The provider id of an earlier message this one edits: its text is replaced in place and the
    # previous text kept in its meta. An edit of an unknown message is stored as a new message.
    edit_of: str | None = None
    # The id of a button or list row the customer chose (Telegram callback_data, a WhatsApp
    # button payload or list reply id): what the hub set on a survey's choices (`Survey.choice`).
    reply_choice: str | None = None

    meta: dict[str, Any] = {}


class DeliveryStatus(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class DeliveryUpdate(msgspec.Struct, frozen=True, kw_only=True):
    inbox_id: int
    provider_message_id: str
    status: DeliveryStatus
    error_code: str = ""
    error: str = ""


class OutboundAttachment(msgspec.Struct, frozen=True):
    id: int
    filename: str
    content_type: str
    size: int
    path: str  # local file of the content


class Survey(msgspec.Struct, frozen=True, kw_only=True):
    """A CSAT survey riding on an outbound message (hub.csat): each channel shows it its own way
    (a signed link, inline buttons, an interactive list, a numbered prompt, a widget card)."""

    id: int
    question: str
    link: str  # the signed answer page, /csat/{token}: works on every channel
    ratings: tuple[int, ...] = (1, 2, 3, 4, 5)

    def choice(self, rating: int) -> str:
        """The button/list id of a rating; the hub reads it back from `Inbound.reply_choice`."""
        return f"csat:{self.id}:{rating}"


class Outbound(msgspec.Struct, frozen=True, kw_only=True):
    inbox_id: int
    conversation_id: int
    conversation_ref: int
    message_id: int
    recipient: Identity
    text: str = ""
    html: str = ""
    subject: str = ""
    attachments: list[OutboundAttachment] = []
    reply_to_provider_id: str | None = None
    template: dict[str, Any] | None = None
    agent_name: str = ""
    survey: Survey | None = None  # a CSAT survey: render its choices (hub.csat)


class SignatureError(Exception):
    """The request does not carry a valid provider signature: answer 403 and store nothing."""


class PayloadError(Exception):
    """The payload cannot be understood: answer with a clear error, keep the raw input."""


class TransientSendError(Exception):
    """The provider may accept the message later (timeouts, 429, 5xx): retry with backoff."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSendError(Exception):
    """The provider refused the message for good: the message ends `failed` with this reason."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class RequestData(msgspec.Struct, frozen=True):
    """An inbound HTTP request as adapters see it (no web framework types in the core).

    `url` is the public URL the provider called (HUB_PUBLIC_URL + path + query), which is what
    URL-signing providers such as Twilio sign. Header names are lower-case.
    """

    method: str
    url: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        """The body as an application/x-www-form-urlencoded form (first value of each key)."""
        from urllib.parse import parse_qsl

        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


class WebhookReply(msgspec.Struct, frozen=True):
    """What to answer a provider's webhook call."""

    status: int = 200
    body: str = ""
    media_type: str = "text/plain"


class PollResult(msgspec.Struct, frozen=True):
    items: list[Inbound | DeliveryUpdate]
    state: dict[str, Any]


class ChannelAdapter(Protocol):
    """What a channel offers. Limits are declarative so the hub and the UI enforce them early."""

    kind: ClassVar[str]
    max_text_length: ClassVar[int]
    supports_attachments: ClassVar[bool]
    max_attachment_bytes: ClassVar[int]
    reply_window_hours: ClassVar[int | None]  # e.g. WhatsApp's 24 h; None = no window

    def __init__(self, *, inbox_id: int, config: dict[str, Any], public_url: str) -> None: ...

    async def verify(self, request: RequestData) -> None:
        """Raise SignatureError unless the request is authentic."""

    async def parse(self, request: RequestData) -> list[Inbound | DeliveryUpdate]:
        """Normalise a verified request; raise PayloadError when it cannot be understood."""

    async def send(self, message: Outbound) -> str:
        """Deliver a reply and return the provider's message id."""


class BaseAdapter:
    """Defaults for adapters: no window, text only up to 10,000 characters."""

    kind: ClassVar[str] = ""
    max_text_length: ClassVar[int] = 10_000
    supports_attachments: ClassVar[bool] = False
    max_attachment_bytes: ClassVar[int] = 0
    reply_window_hours: ClassVar[int | None] = None
    # Config keys that are write-only: stored encrypted, never returned by the API.
    secret_fields: ClassVar[tuple[str, ...]] = ()
    # Path of the provider's webhook, if the channel receives webhooks ({inbox_id} is filled in).
    webhook_path: ClassVar[str | None] = None
    # Config keys naming where the channel sends its credentials → the secrets sent there. When
    # one changes, those secrets must be given again in the same change (a generated one is made
    # anew): else an admin could point a stored, write-only token at a host of their choosing.
    host_bound_secrets: ClassVar[dict[str, tuple[str, ...]]] = {}
    # Base-URL config keys → the provider's own hosts ("api.example.com", or ".example.com" for
    # its subdomains). Other hosts need HUB_ALLOW_CUSTOM_PROVIDER_URLS (fakes, gateways).
    provider_hosts: ClassVar[dict[str, tuple[str, ...]]] = {}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Check and complete an inbox's settings; raise ValueError with a sentence for the admin."""
        return dict(config)

    def __init__(self, *, inbox_id: int, config: dict[str, Any], public_url: str) -> None:
        self.inbox_id = inbox_id
        self.config = config
        self.public_url = public_url

    async def verify(self, request: RequestData) -> None:
        return None

    async def parse(self, request: RequestData) -> list[Inbound | DeliveryUpdate]:
        raise PayloadError(f"the {self.kind} channel receives no webhooks")

    async def send(self, message: Outbound) -> str:
        raise PermanentSendError(f"the {self.kind} channel cannot send replies")

    # Webhook channels -------------------------------------------------------------------------

    async def handshake(self, request: RequestData) -> WebhookReply:
        """Answer a provider's GET (e.g. Meta's verification); most channels have none."""
        return WebhookReply(405, "this webhook accepts POST only")

    def acknowledge(self, request: RequestData) -> WebhookReply:
        """The answer to a processed webhook call (Twilio expects TwiML, most accept empty 200)."""
        return WebhookReply()

    # Pull channels ----------------------------------------------------------------------------

    polls: ClassVar[bool] = False

    def wants_polling(self) -> bool:
        """Whether this inbox is polled (a channel may offer webhook or polling per inbox)."""
        return self.polls

    async def poll(self, state: dict[str, Any]) -> PollResult:
        """Fetch what arrived since `state`; the new state is saved after the items are stored."""
        return PollResult([], state)

    # Inbox lifecycle ----------------------------------------------------------------------------

    async def on_created(self) -> dict[str, Any]:
        """Called once the inbox exists (register a webhook, …); returns config keys to store."""
        return {}

    async def on_updated(self, previous: dict[str, Any]) -> dict[str, Any]:
        """Called after the settings changed (self.config is the new one); returns keys to store."""
        return {}

    async def on_deleted(self) -> None:
        """Called when the inbox is deactivated (unregister a webhook, …)."""
        return None

    @classmethod
    def limits(cls) -> dict[str, Any]:
        return {
            "max_text_length": cls.max_text_length,
            "supports_attachments": cls.supports_attachments,
            "max_attachment_bytes": cls.max_attachment_bytes,
            "reply_window_hours": cls.reply_window_hours,
        }


CHANNELS = ("api", "email", "telegram", "whatsapp_twilio", "whatsapp_cloud", "webchat")


class UnknownChannel(LookupError):
    pass


_registered: dict[str, type[BaseAdapter]] = {}


def register(kind: str, cls: type[BaseAdapter]) -> None:
    """Register an adapter in code (tests, embedding); entry points are the normal way."""
    _registered[kind] = cls
    adapter_class.cache_clear()


@cache
def adapter_class(kind: str) -> type[BaseAdapter]:
    """The adapter registered for a channel kind under the `hub.channels` entry points."""
    if kind in _registered:
        return _registered[kind]
    for entry in entry_points(group="hub.channels"):
        if entry.name == kind:
            cls: type[BaseAdapter] = entry.load()
            return cls
    raise UnknownChannel(f"no adapter is installed for channel {kind!r}")


def installed_channels() -> list[str]:
    return sorted({entry.name for entry in entry_points(group="hub.channels")} | set(_registered))
