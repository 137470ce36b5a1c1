"""WhatsApp through Meta's Cloud API, directly: Graph API over httpx out, signed JSON webhooks in.

Webhook: `GET /webhooks/whatsapp/{inbox}` answers Meta's verification handshake with the inbox's
verify token; `POST` is signed with X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the
app secret) and may carry many entries, messages and statuses at once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from adapters.whatsapp import config as settings
from adapters.whatsapp import media, parse_cloud, signed_urls, survey, templates, window
from adapters.whatsapp.errors import CLOUD_REASONS, CLOUD_TRANSIENT, reason
from adapters.whatsapp.inbound import MediaRef, WithMedia
from adapters.whatsapp.outbound import check_one_attachment
from hub.channels.contract import (
    BaseAdapter,
    DeliveryUpdate,
    Inbound,
    Outbound,
    OutboundAttachment,
    PermanentSendError,
    RequestData,
    SignatureError,
    TransientSendError,
    WebhookReply,
)

DEFAULT_GRAPH_BASE_URL = "https://graph.facebook.com"
DEFAULT_GRAPH_VERSION = "v21.0"
META_MEDIA_HOSTS = (".fbsbx.com", ".facebook.com", ".whatsapp.net")
SEND_TIMEOUT = httpx.Timeout(15.0, connect=5.0)

# Meta accepts only these types as `image`, `video` and `audio`; anything else goes as a document.
_IMAGE = frozenset({"image/jpeg", "image/png"})
_VIDEO = frozenset({"video/mp4", "video/3gpp"})
_AUDIO = frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"})


def signature(app_secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends for `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


class CloudChannel(BaseAdapter):
    kind: ClassVar[str] = "whatsapp_cloud"
    max_text_length: ClassVar[int] = 4096  # the Cloud API's text body limit
    supports_attachments: ClassVar[bool] = True
    max_attachment_bytes: ClassVar[int] = 16 * 1024 * 1024  # video/audio limit; images are 5 MB
    reply_window_hours: ClassVar[int | None] = window.HOURS
    secret_fields: ClassVar[tuple[str, ...]] = ("access_token", "app_secret", "verify_token")
    host_bound_secrets: ClassVar[dict[str, tuple[str, ...]]] = {"graph_base_url": ("access_token",)}
    provider_hosts: ClassVar[dict[str, tuple[str, ...]]] = {
        "graph_base_url": ("graph.facebook.com",)
    }
    webhook_path: ClassVar[str | None] = "/webhooks/whatsapp/{inbox_id}"

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        cleaned = dict(config)
        number_id = settings.required(
            cleaned, "phone_number_id", "the WhatsApp phone number ID from Meta's app dashboard"
        )
        if not number_id.isdigit():
            raise ValueError("phone_number_id must be the numeric ID Meta shows, not the number")
        cleaned["phone_number_id"] = number_id
        cleaned["access_token"] = settings.required(
            cleaned, "access_token", "a system user's access token with whatsapp_business_messaging"
        )
        cleaned["app_secret"] = settings.required(
            cleaned, "app_secret", "the Meta app's secret, which signs the webhooks"
        )
        # The admin copies the verify token into Meta's dashboard; one is made when not chosen.
        cleaned["verify_token"] = str(cleaned.get("verify_token") or secrets.token_urlsafe(24))
        cleaned["graph_base_url"] = settings.base_url(
            cleaned, "graph_base_url", DEFAULT_GRAPH_BASE_URL
        )
        version = str(cleaned.get("graph_api_version") or DEFAULT_GRAPH_VERSION)
        if not re.fullmatch(r"v\d+\.\d+", version):
            raise ValueError("graph_api_version must look like v21.0")
        cleaned["graph_api_version"] = version
        cleaned["templates"] = templates.parse_config(cleaned.get("templates"), provider="cloud")
        return cleaned

    @property
    def _graph(self) -> str:
        return f"{self.config['graph_base_url']}/{self.config['graph_api_version']}"

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config['access_token']}"}

    # Inbox lifecycle ----------------------------------------------------------------------------

    async def on_created(self) -> dict[str, Any]:
        """Check the token and number once; remember the display number for the admin."""
        url = f"{self._graph}/{self.config['phone_number_id']}"
        try:
            async with httpx.AsyncClient(timeout=SEND_TIMEOUT) as client:
                response = await client.get(
                    url, params={"fields": "display_phone_number,verified_name"}, headers=self._auth
                )
        except httpx.HTTPError:
            return {}  # offline set-ups can still create the inbox; sends will say what is wrong
        if response.status_code in (400, 401, 403, 404):
            code, text = _graph_error(response)
            raise ValueError(
                f"Meta refused the access_token or phone_number_id: {text or response.status_code}"
                + (f" (code {code})" if code else "")
            )
        if response.status_code == 200:
            display = str(_json(response).get("display_phone_number") or "")
            return {"display_phone_number": display} if display else {}
        return {}

    async def on_updated(self, previous: dict[str, Any]) -> dict[str, Any]:
        """A new token or number is checked like a new inbox's (and its display number kept)."""
        keys = ("access_token", "phone_number_id", "graph_base_url", "graph_api_version")
        if any(self.config.get(k) != previous.get(k) for k in keys):
            return await self.on_created()
        return {}

    # Webhooks -------------------------------------------------------------------------------

    async def handshake(self, request: RequestData) -> WebhookReply:
        mode = request.query.get("hub.mode", "")
        token = request.query.get("hub.verify_token", "")
        challenge = request.query.get("hub.challenge", "")
        expected = str(self.config.get("verify_token") or "")
        if (
            mode == "subscribe"
            and expected
            and hmac.compare_digest(token.encode(), expected.encode())
        ):
            return WebhookReply(200, challenge, "text/plain")
        return WebhookReply(403, "verification failed: wrong hub.verify_token", "text/plain")

    async def verify(self, request: RequestData) -> None:
        given = request.headers.get("x-hub-signature-256", "")
        if not given:
            raise SignatureError("X-Hub-Signature-256 is missing")
        expected = signature(self.config["app_secret"], request.body)
        if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
            raise SignatureError("X-Hub-Signature-256 does not match the body")

    async def parse(self, request: RequestData) -> list[Inbound | DeliveryUpdate]:
        payload = parse_cloud.decode(request.body)
        items: list[Inbound | DeliveryUpdate] = []
        for item in parse_cloud.parse(payload, self.inbox_id, self.config["phone_number_id"]):
            if isinstance(item, WithMedia):
                items.append(await media.attach(item, self._fetch_media))
            else:
                items.append(item)
        return items

    async def _fetch_media(self, ref: MediaRef) -> media.Fetched:
        """Media id → a short-lived URL (Graph) → the bytes, both with the bearer token."""
        limit = media.size_limit(self.max_attachment_bytes)
        async with httpx.AsyncClient(timeout=media.FETCH_TIMEOUT) as client:
            try:
                response = await client.get(f"{self._graph}/{ref.ref}", headers=self._auth)
            except httpx.HTTPError as exc:
                raise media.MediaError(f"Meta could not be reached ({type(exc).__name__})") from exc
            if response.status_code != 200:
                raise media.MediaError(f"Meta answered {response.status_code} for media {ref.ref}")
            info = _json(response)
            url = str(info.get("url") or "")
            if not url:
                raise media.MediaError(f"Meta gave no URL for media {ref.ref}")
            size = info.get("file_size")
            if isinstance(size, int) and size > limit:
                raise media.MediaError(f"the media is {size} bytes; the limit is {limit} bytes")
            # The token goes only to the Graph server itself or Meta's media hosts, whatever URL
            # the answer names.
            trusted = settings.origin(url) == settings.origin(self._graph) or (
                urlsplit(url).hostname or ""
            ).endswith(META_MEDIA_HOSTS)
            fetched = await media.download(
                client, url, headers=self._auth if trusted else None, limit=limit
            )
        content_type = ref.content_type or str(info.get("mime_type") or "") or fetched.content_type
        return media.Fetched(fetched.data, content_type)

    # Sending --------------------------------------------------------------------------------

    def _payload(self, message: Outbound) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.recipient.address.lstrip("+"),
        }
        if message.template:
            configured = self.config.get("templates")
            template, values = templates.resolve(
                configured, survey.template_request(configured, message)
            )
            if message.attachments:
                raise PermanentSendError(
                    "a template is sent as approved: attachments cannot be added to it",
                    code="template_media",
                )
            payload["type"] = "template"
            payload["template"] = templates.cloud_template(template, values)
            return payload
        if message.survey is not None:
            payload["type"] = "interactive"
            payload["interactive"] = survey.cloud_interactive(message.survey)
            return payload
        check_one_attachment(message)
        if message.attachments:
            kind, body = self._media(message.attachments[0], message.text)
            payload["type"] = kind
            payload[kind] = body
        else:
            payload["type"] = "text"
            payload["text"] = {"body": message.text}
        return payload

    def _media(self, attachment: OutboundAttachment, caption: str) -> tuple[str, dict[str, Any]]:
        from hub.system.services import current

        link = signed_urls.media_url(self.public_url, current().settings.secret_key, attachment.id)
        content_type = attachment.content_type.split(";", 1)[0].strip().lower()
        if content_type in _IMAGE:
            kind = "image"
        elif content_type in _VIDEO:
            kind = "video"
        elif content_type in _AUDIO and not caption:
            kind = "audio"  # audio carries no caption: with text it goes as a document instead
        else:
            kind = "document"
        body: dict[str, Any] = {"link": link}
        if caption:
            body["caption"] = caption
        if kind == "document":
            body["filename"] = attachment.filename
        return kind, body

    async def send(self, message: Outbound) -> str:
        payload = self._payload(message)
        if not message.template:
            await window.ensure_open(
                message.conversation_id, self.reply_window_hours or window.HOURS
            )
        url = f"{self._graph}/{self.config['phone_number_id']}/messages"
        try:
            async with httpx.AsyncClient(timeout=SEND_TIMEOUT) as client:
                response = await client.post(url, json=payload, headers=self._auth)
        except httpx.TimeoutException as exc:
            raise TransientSendError("Meta did not answer in time") from exc
        except httpx.TransportError as exc:
            raise TransientSendError(f"Meta could not be reached ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise _send_error(response)
        messages = _json(response).get("messages")
        message_id = messages[0].get("id") if isinstance(messages, list) and messages else None
        if not message_id:
            raise TransientSendError("Meta answered without a message id")
        return str(message_id)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _graph_error(response: httpx.Response) -> tuple[str, str]:
    """(code, text) of a Graph API error: `{"error": {"code", "message", "error_data"}}`."""
    error = _json(response).get("error")
    if not isinstance(error, dict):
        return "", response.text[:200]
    details = (
        (error.get("error_data") or {}).get("details")
        if isinstance(error.get("error_data"), dict)
        else ""
    )
    return str(error.get("code") or ""), str(details or error.get("message") or "")


def _send_error(response: httpx.Response) -> Exception:
    code, text = _graph_error(response)
    status = response.status_code
    if status in (408, 429) or status >= 500 or code in CLOUD_TRANSIENT:
        retry_after = response.headers.get("retry-after", "")
        return TransientSendError(
            f"Meta answered {status}: {text or code}".strip(),
            retry_after=float(retry_after) if retry_after.isdigit() else None,
        )
    return PermanentSendError(reason(CLOUD_REASONS, code, text), code=code or str(status))
