"""API channel adapter.

Inbound messages arrive at the authenticated `POST /api/v1/inboxes/{id}/messages`. Replies are
POSTed as JSON to the inbox's `callback_url`, signed with HMAC-SHA256 of the raw body in
`X-Hub-Signature-256: sha256=<hex>`, and carry `Idempotency-Key: hub-message-<id>` so a receiver
can drop the duplicate of a retried delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, ClassVar
from urllib.parse import urlparse

import httpx
import msgspec

from hub.channels.contract import BaseAdapter, Outbound, PermanentSendError, TransientSendError
from hub.system import netguard

DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 3


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ApiChannel(BaseAdapter):
    kind: ClassVar[str] = "api"
    max_text_length: ClassVar[int] = 65_536
    supports_attachments: ClassVar[bool] = True
    max_attachment_bytes: ClassVar[int] = 25 * 1024 * 1024
    secret_fields: ClassVar[tuple[str, ...]] = ("callback_secret",)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        cleaned = dict(config)
        url = str(cleaned.get("callback_url") or "")
        if url:
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ValueError("callback_url must be an http:// or https:// URL")
            refusal = netguard.literal_refusal(url)
            if refusal and not _allow_private():
                raise ValueError(
                    f"callback_url must be a public address ({refusal}); an operator can allow"
                    " private addresses with HUB_ALLOW_PRIVATE_CALLBACK_URLS"
                )
        cleaned["callback_url"] = url
        timeout = cleaned.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
        if not isinstance(timeout, int | float) or not 0 < timeout <= 60:
            raise ValueError("timeout_seconds must be a number of seconds between 0 and 60")
        # A secret the admin did not choose is generated; it is write-only like every secret.
        cleaned["callback_secret"] = str(
            cleaned.get("callback_secret") or secrets.token_urlsafe(32)
        )
        return cleaned

    async def send(self, message: Outbound) -> str:
        url = self.config.get("callback_url")
        if not url:
            raise PermanentSendError("this API inbox has no callback_url to deliver replies to")
        payload = {
            "event": "message.created",
            "message": {
                "id": message.message_id,
                "text": message.text,
                "html": message.html,
                "attachments": [
                    {
                        "id": a.id,
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "size": a.size,
                    }
                    for a in message.attachments
                ],
                "template": message.template,
                "agent_name": message.agent_name,
                "reply_to": message.reply_to_provider_id,
            },
            "conversation": {"id": message.conversation_id, "ref": message.conversation_ref},
            "recipient": {"kind": message.recipient.kind, "address": message.recipient.address},
        }
        if message.survey is not None:
            # A CSAT survey: the integration asks its customer and hands the answer back at
            # POST /api/v1/inboxes/{inbox}/csat/answers (or sends them the link).
            payload["survey"] = {
                "id": message.survey.id,
                "question": message.survey.question,
                "ratings": list(message.survey.ratings),
                "link": message.survey.link,
                "answer_url": f"{self.public_url}/api/v1/inboxes/{self.inbox_id}/csat/answers",
            }
        body = msgspec.json.encode(payload)
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(self.config["callback_secret"], body),
            "Idempotency-Key": f"hub-message-{message.message_id}",
            "User-Agent": "hub-api-channel/1",
        }
        timeout = float(self.config.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS))
        allow_private = _allow_private()
        try:
            async with netguard.client(
                allow_private=allow_private,
                timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            ) as client:
                response = await _post(client, url, body, headers, allow_private=allow_private)
        except netguard.RefusedAddress as exc:
            raise PermanentSendError(
                f"the callback address is not allowed ({exc}); an operator can allow private"
                " addresses with HUB_ALLOW_PRIVATE_CALLBACK_URLS",
                code="address_refused",
            ) from exc
        except httpx.TimeoutException as exc:
            raise TransientSendError(f"the callback timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise TransientSendError(
                f"the callback could not be reached ({type(exc).__name__})"
            ) from exc
        if response.status_code in (408, 425, 429) or response.status_code >= 500:
            retry_after = response.headers.get("retry-after")
            raise TransientSendError(
                f"the callback answered {response.status_code}",
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        if response.status_code >= 300:
            # Only the status: the body is whatever the URL's server says, and agents see this
            # text; echoing it would make the callback a way to read internal pages.
            raise PermanentSendError(
                f"the callback refused the message with HTTP {response.status_code}"
                + (" (a redirect hub does not follow)" if response.status_code < 400 else ""),
                code=str(response.status_code),
            )
        try:
            provider_id = str(response.json().get("id") or "")
        except (ValueError, AttributeError):
            provider_id = ""
        return provider_id or f"hub-message-{message.message_id}"


def _allow_private() -> bool:
    """The operator setting; strict when no hub is running (e.g. validating outside one)."""
    from hub.system.services import current

    try:
        return current().settings.allow_private_callback_urls
    except RuntimeError:
        return False


async def _post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
) -> httpx.Response:
    """POST, following up to MAX_REDIRECTS 307/308 redirects (they keep the method and body),
    each target checked like the first URL. Others (301/302/303 would turn the POST into a GET)
    are answered to the caller as they are."""
    for _ in range(MAX_REDIRECTS + 1):
        refusal = None if allow_private else netguard.literal_refusal(url)
        if refusal:
            raise netguard.RefusedAddress(refusal)
        response = await client.post(url, content=body, headers=headers)
        location = response.headers.get("location")
        if response.status_code not in (307, 308) or not location:
            return response
        url = str(response.url.join(location))
        if urlparse(url).scheme not in ("http", "https"):
            return response
    return response
