"""Rules both WhatsApp providers apply to a reply before building their request."""

from __future__ import annotations

from hub.channels.contract import Outbound, PermanentSendError


def check_one_attachment(message: Outbound) -> None:
    """WhatsApp carries at most one media item per message, whichever provider sends it."""
    if len(message.attachments) > 1:
        raise PermanentSendError(
            "WhatsApp sends one attachment per message: send the others as separate replies",
            code="too_many_attachments",
        )
