"""WhatsApp through Twilio: the `twilio` package's async client out, signed form webhooks in.

Webhooks: `POST /webhooks/twilio/{inbox}` for messages and `…/status` for the status callback
this adapter asks for on every send. Both are signed with X-Twilio-Signature over the public URL
Twilio called (HUB_PUBLIC_URL, or the inbox's `webhook_base_url` behind a differently named
proxy) and the form parameters.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import httpx
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from adapters.whatsapp import config as settings
from adapters.whatsapp import media, parse_twilio, signed_urls, survey, templates, window
from adapters.whatsapp.errors import TWILIO_REASONS, TWILIO_TRANSIENT, reason
from adapters.whatsapp.inbound import MediaRef
from adapters.whatsapp.outbound import check_one_attachment
from hub.channels.contract import (
    BaseAdapter,
    DeliveryUpdate,
    Inbound,
    Outbound,
    PermanentSendError,
    RequestData,
    SignatureError,
    TransientSendError,
    WebhookReply,
)

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.twilio.com"
SEND_TIMEOUT_SECONDS = 15.0
# An empty TwiML document: "received, nothing to answer" (an empty body works too).
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class _Params(dict[str, list[str]]):
    """Form parameters with every value of a repeated name, as RequestValidator signs them."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def form_params(body: bytes) -> _Params:
    params = _Params()
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        params.setdefault(name, []).append(value)
    return params


class TwilioChannel(BaseAdapter):
    kind: ClassVar[str] = "whatsapp_twilio"
    max_text_length: ClassVar[int] = 1600  # Twilio's Body limit for a message
    supports_attachments: ClassVar[bool] = True
    max_attachment_bytes: ClassVar[int] = 16 * 1024 * 1024  # WhatsApp's media limit via Twilio
    reply_window_hours: ClassVar[int | None] = window.HOURS
    secret_fields: ClassVar[tuple[str, ...]] = ("auth_token",)
    host_bound_secrets: ClassVar[dict[str, tuple[str, ...]]] = {"api_base_url": ("auth_token",)}
    # api.twilio.com and its regional edges (api.dublin.ie1.twilio.com, …).
    provider_hosts: ClassVar[dict[str, tuple[str, ...]]] = {"api_base_url": (".twilio.com",)}
    webhook_path: ClassVar[str | None] = "/webhooks/twilio/{inbox_id}"

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        cleaned = dict(config)
        sid = settings.required(cleaned, "account_sid", "the Twilio Account SID (AC…)")
        if not (len(sid) == 34 and sid.startswith("AC") and _hex(sid[2:])):
            raise ValueError(
                "account_sid must be a Twilio Account SID: AC followed by 32 hex digits"
            )
        cleaned["account_sid"] = sid
        cleaned["auth_token"] = settings.required(cleaned, "auth_token", "the account's Auth Token")
        cleaned["from_number"] = settings.e164(cleaned, "from_number")
        cleaned["api_base_url"] = settings.base_url(cleaned, "api_base_url", DEFAULT_API_BASE_URL)
        cleaned["webhook_base_url"] = settings.optional_base_url(cleaned, "webhook_base_url")
        cleaned["templates"] = templates.parse_config(cleaned.get("templates"), provider="twilio")
        return cleaned

    # Inbox lifecycle ----------------------------------------------------------------------------

    async def on_created(self) -> dict[str, Any]:
        """Check the credentials once, so a typo shows now rather than at the first reply."""
        client, http = self._client()
        try:
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                await client.api.v2010.accounts(self.config["account_sid"]).fetch_async()
        except (TwilioRestException, TwilioServiceException) as exc:
            if exc.status in (401, 403, 404):
                raise ValueError(
                    "Twilio refused the account_sid / auth_token (HTTP"
                    f" {exc.status}); check them in the Twilio console"
                ) from None
            log.warning("inbox %s: Twilio credential check answered %s", self.inbox_id, exc.status)
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            # Offline set-ups (and firewalled admins) can still create the inbox.
            log.warning(
                "inbox %s: Twilio was not reachable to check credentials: %s", self.inbox_id, exc
            )
        finally:
            await http.close()
        return {}

    async def on_updated(self, previous: dict[str, Any]) -> dict[str, Any]:
        """New credentials are checked like a new inbox's; other changes need no call."""
        if any(
            self.config.get(k) != previous.get(k)
            for k in ("account_sid", "auth_token", "api_base_url")
        ):
            return await self.on_created()
        return {}

    # Webhooks -------------------------------------------------------------------------------

    def _signed_url(self, request: RequestData) -> str:
        base = self.config.get("webhook_base_url") or ""
        if not base:
            return request.url
        parts = urlsplit(request.url)
        return base + parts.path + (f"?{parts.query}" if parts.query else "")

    async def verify(self, request: RequestData) -> None:
        signature = request.headers.get("x-twilio-signature", "")
        if not signature:
            raise SignatureError("X-Twilio-Signature is missing")
        validator = RequestValidator(self.config["auth_token"])
        if not validator.validate(self._signed_url(request), form_params(request.body), signature):
            raise SignatureError("X-Twilio-Signature does not match the URL and parameters")

    async def parse(self, request: RequestData) -> list[Inbound | DeliveryUpdate]:
        form = request.form()
        if request.path.endswith("/status") or parse_twilio.is_status_callback(form):
            return list(parse_twilio.parse_status(form, self.inbox_id))
        item = parse_twilio.parse_message(form, self.inbox_id)
        return [await media.attach(item, self._fetch_media)]

    def acknowledge(self, request: RequestData) -> WebhookReply:
        return WebhookReply(200, EMPTY_TWIML, "text/xml")

    async def _fetch_media(self, ref: MediaRef) -> media.Fetched:
        # Media URLs need the account's Basic auth, but only Twilio may see the credentials.
        trusted = settings.origin(ref.ref) == settings.origin(self.config["api_base_url"]) or (
            urlsplit(ref.ref).hostname or ""
        ).endswith(".twilio.com")
        if not trusted:
            # A signed webhook naming another host is forged or misconfigured; fetching it would
            # let the payload point the hub at its own network (SSRF). Kept as media_failed.
            raise media.MediaError("the media URL is not on Twilio's (or the configured) host")
        auth = httpx.BasicAuth(self.config["account_sid"], self.config["auth_token"])
        async with httpx.AsyncClient(timeout=media.FETCH_TIMEOUT) as client:
            return await media.download(
                client, ref.ref, auth=auth, limit=media.size_limit(self.max_attachment_bytes)
            )

    # Sending --------------------------------------------------------------------------------

    def _client(self) -> tuple[Client, AsyncTwilioHttpClient]:
        http = AsyncTwilioHttpClient()
        # A non-empty environment without TWILIO_* keys: the inbox's settings alone decide where
        # requests go, never a stray TWILIO_REGION / TWILIO_EDGE of the process.
        client = Client(
            self.config["account_sid"],
            self.config["auth_token"],
            http_client=http,
            environment={"HUB": "1"},
        )
        # The twilio package has no base-URL option; its Api domain holds the host.
        client.api.base_url = self.config["api_base_url"]
        return client, http

    def status_callback_url(self) -> str:
        base = self.config.get("webhook_base_url") or self.public_url
        return base.rstrip("/") + self.webhook_path_for() + "/status"

    def webhook_path_for(self) -> str:
        return (self.webhook_path or "").format(inbox_id=self.inbox_id)

    def _params(self, message: Outbound) -> dict[str, Any]:
        params: dict[str, Any] = {
            "to": "whatsapp:" + message.recipient.address,
            "from_": "whatsapp:" + self.config["from_number"],
            "status_callback": self.status_callback_url(),
        }
        if message.template:
            configured = self.config.get("templates")
            template, values = templates.resolve(
                configured, survey.template_request(configured, message)
            )
            if message.attachments:
                raise PermanentSendError(TWILIO_REASONS["63030"], code="63030")
            params["content_sid"] = template.content_sid
            if values:
                params["content_variables"] = templates.twilio_variables(values)
            return params
        if message.survey is not None:
            params["body"] = survey.numbered_text(message.survey)
            return params
        check_one_attachment(message)
        if message.text:
            params["body"] = message.text
        if message.attachments:
            from hub.system.services import current

            params["media_url"] = [
                signed_urls.media_url(
                    self.public_url, current().settings.secret_key, message.attachments[0].id
                )
            ]
        return params

    async def send(self, message: Outbound) -> str:
        params = self._params(message)
        if not message.template:
            await window.ensure_open(
                message.conversation_id, self.reply_window_hours or window.HOURS
            )
        client, http = self._client()
        try:
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                created = await client.messages.create_async(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _send_error(exc) from exc
        except TimeoutError as exc:
            raise TransientSendError("Twilio did not answer in time") from exc
        except (OSError, aiohttp.ClientError) as exc:
            raise TransientSendError(f"Twilio could not be reached ({type(exc).__name__})") from exc
        finally:
            await http.close()
        if not created.sid:
            raise TransientSendError("Twilio answered without a message SID")
        return str(created.sid)


def _send_error(exc: TwilioRestException | TwilioServiceException) -> Exception:
    code = str(exc.code or "")
    status = int(exc.status or 0)
    if isinstance(exc, TwilioServiceException):
        text = str(exc.detail or exc.title or "")
    else:
        text = str(exc.msg or "").removeprefix("Unable to create record: ")
    if status in (408, 429) or status >= 500 or code in TWILIO_TRANSIENT:
        return TransientSendError(f"Twilio answered {status}: {text or code}".strip())
    return PermanentSendError(reason(TWILIO_REASONS, code, text), code=code or str(status))


def _hex(value: str) -> bool:
    try:
        int(value, 16)
    except ValueError:
        return False
    return True
