"""Replies to visitors who left: emailed through the inbox's chosen email inbox, with a link back.

The decision (away? has an email? not emailed moments ago?) is `hub.visitors.presence.away_email_target`;
the sending goes through the email inbox's own adapter, found by the channel registry, so this
package never imports another adapter.
"""

from __future__ import annotations

import logging

from adapters.webchat.config import WebchatSettings
from hub.channels.contract import Identity, Outbound

log = logging.getLogger(__name__)

SUBJECT = "You have a new reply"


def continue_link(public_url: str, token: str) -> str:
    return f"{public_url}/widget/continue?t={token}"


def email_text(agent_name: str, text: str, link: str) -> str:
    who = agent_name or "Our team"
    return f"{who} replied to your chat:\n\n{text}\n\nContinue the conversation: {link}\n"


async def email_if_away(settings: WebchatSettings, message: Outbound) -> bool:
    """Email the reply when the visitor is away and has an email; True if an email was sent."""
    if settings.email_inbox_id is None:
        return False
    from hub.channels import inboxes
    from hub.system.services import current
    from hub.visitors import presence, tokens

    hub_settings = current().settings
    try:
        target = await presence.away_email_target(message.conversation_id)
        if target is None:
            return False
        token = tokens.issue_resume_token(hub_settings.secret_key, target.inbox_id, target.visitor)
        mailer = await inboxes.adapter_for(
            settings.email_inbox_id,
            secret_key=hub_settings.secret_key,
            public_url=hub_settings.public_url,
        )
        await mailer.send(
            Outbound(
                inbox_id=settings.email_inbox_id,
                conversation_id=message.conversation_id,
                conversation_ref=message.conversation_ref,
                message_id=message.message_id,
                recipient=Identity("email", target.email, target.name),
                text=email_text(
                    message.agent_name,
                    message.text,
                    continue_link(hub_settings.public_url, token),
                ),
                subject=SUBJECT,
                agent_name=message.agent_name,
            )
        )
    except Exception:
        log.exception(
            "could not email reply %s to the away visitor of conversation %s",
            message.message_id,
            message.conversation_id,
        )
        return False
    return True
