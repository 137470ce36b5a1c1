"""The web chat channel: visitors write from the widget, agents answer in the inbox.

There is no provider to call. A visitor's message is ingested by the widget API (web.widget); an
agent's reply is visible on the visitor's socket as soon as its event row commits, so "sending"
only confirms it (status `sent`) and, if the visitor has left, emails them a copy.
"""

from __future__ import annotations

from typing import Any, ClassVar

from adapters.webchat import away
from adapters.webchat.config import DEFAULT_MAX_ATTACHMENT_BYTES, WebchatSettings, parse, validate
from hub.channels.contract import BaseAdapter, Outbound


class WebchatChannel(BaseAdapter):
    kind: ClassVar[str] = "webchat"
    max_text_length: ClassVar[int] = 5_000
    supports_attachments: ClassVar[bool] = True
    max_attachment_bytes: ClassVar[int] = DEFAULT_MAX_ATTACHMENT_BYTES
    secret_fields: ClassVar[tuple[str, ...]] = ("identity_secret",)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return validate(config)

    @property
    def settings(self) -> WebchatSettings:
        return parse(self.config)

    async def send(self, message: Outbound) -> str:
        # The reply already reached the visitor through the event table; an email copy is best
        # effort and never fails the reply (the chat still shows it when the visitor returns).
        await away.email_if_away(self.settings, message)
        return f"webchat:{message.message_id}"
