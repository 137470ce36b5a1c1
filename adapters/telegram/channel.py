"""Telegram channel adapter: a bot inbox fed by a webhook or by long polling.

Webhook mode registers `POST /webhooks/telegram/{inbox_id}` with a generated secret token, which
Telegram sends back in `X-Telegram-Bot-Api-Secret-Token` on every call. Polling mode removes any
webhook and is fetched by `hub.ingest.polling` with getUpdates; the saved state carries the next offset,
which confirms the previous batch on the following poll — after that batch was committed.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from typing import Any, ClassVar

import msgspec

from adapters.telegram import parse as parsing
from adapters.telegram import send as sending
from adapters.telegram.api import DEFAULT_API_BASE_URL, UPLOAD_LIMIT_BYTES, BotApi, TelegramApiError
from adapters.telegram.config import DEFAULT_POLL_TIMEOUT, clean_config
from adapters.telegram.download import Downloader, download_limit
from adapters.telegram.wire import ALLOWED_UPDATES, Update, update_decoder
from hub.channels.contract import (
    BaseAdapter,
    DeliveryUpdate,
    Inbound,
    Outbound,
    PayloadError,
    PermanentSendError,
    PollResult,
    RequestData,
    SignatureError,
)

log = logging.getLogger(__name__)

# Time a poll may spend on fetching files after getUpdates returned: with the long poll this stays
# inside the job's 90 s, and what is left over is fetched by the next poll instead of timing out
# the job over and over on the same batch.
PROCESSING_BUDGET_SECONDS = 40.0
SECRET_HEADER = "x-telegram-bot-api-secret-token"


class TelegramChannel(BaseAdapter):
    kind: ClassVar[str] = "telegram"
    # Refused rather than split: a split reply that fails half-way would be resent in part.
    max_text_length: ClassVar[int] = sending.MAX_TEXT_LENGTH
    supports_attachments: ClassVar[bool] = True
    max_attachment_bytes: ClassVar[int] = UPLOAD_LIMIT_BYTES
    secret_fields: ClassVar[tuple[str, ...]] = ("bot_token", "webhook_secret")
    # The token is in every request's URL (the webhook secret is made anew: on_updated).
    host_bound_secrets: ClassVar[dict[str, tuple[str, ...]]] = {"api_base_url": ("bot_token",)}
    provider_hosts: ClassVar[dict[str, tuple[str, ...]]] = {"api_base_url": ("api.telegram.org",)}
    webhook_path: ClassVar[str | None] = "/webhooks/telegram/{inbox_id}"

    # Settings -------------------------------------------------------------------------------

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return clean_config(config)

    @property
    def mode(self) -> str:
        return str(self.config.get("mode") or "webhook")

    @property
    def webhook_url(self) -> str:
        assert self.webhook_path is not None
        return self.public_url + self.webhook_path.format(inbox_id=self.inbox_id)

    def _api(self, timeout: float | None = None, config: dict[str, Any] | None = None) -> BotApi:
        settings = config or self.config
        return BotApi(
            str(settings["bot_token"]),
            str(settings.get("api_base_url") or DEFAULT_API_BASE_URL),
            timeout=timeout,
        )

    # Inbound ----------------------------------------------------------------------------------

    async def verify(self, request: RequestData) -> None:
        expected = str(self.config.get("webhook_secret") or "")
        given = request.headers.get(SECRET_HEADER, "")
        if not expected:
            raise SignatureError("this Telegram inbox has no webhook (it uses polling)")
        if not given:
            raise SignatureError(f"missing {SECRET_HEADER} header")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise SignatureError(f"wrong {SECRET_HEADER} header")

    async def parse(self, request: RequestData) -> list[Inbound | DeliveryUpdate]:
        try:
            update = update_decoder.decode(request.body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise PayloadError(f"not a Telegram update: {exc}") from None
        async with self._api() as api:
            item = await self._inbound(api, update)
        return [item] if item else []

    async def _inbound(self, api: BotApi, update: Update) -> Inbound | None:
        if update.callback_query is not None:
            data = update.callback_query.data or ""
            # A survey button (hub.csat's choice ids): thank the customer in the app's toast.
            thanks = "Thank you for your feedback!" if data.startswith("csat:") else None
            await self._answer(api, update.callback_query.id, thanks)
        return await parsing.inbound(
            update,
            inbox_id=self.inbox_id,
            allow_groups=bool(self.config.get("allow_groups")),
            files=Downloader(api, download_limit()),
        )

    async def _answer(self, api: BotApi, query_id: str, text: str | None = None) -> None:
        """Stop the button's spinner in the customer's app; best effort, a retry may be too late."""
        params: dict[str, Any] = {"callback_query_id": query_id}
        if text:
            params["text"] = text
        try:
            await api.call("answerCallbackQuery", params, timeout=5.0)
        except TelegramApiError as exc:
            log.warning("inbox %s: answerCallbackQuery failed: %s", self.inbox_id, exc)

    # Polling ----------------------------------------------------------------------------------

    def wants_polling(self) -> bool:
        # An inbox without a token (the demo's) has nothing to poll.
        return self.mode == "polling" and bool(self.config.get("bot_token"))

    async def poll(self, state: dict[str, Any]) -> PollResult:
        bot_id = self.config.get("bot_id")
        # Offsets belong to one bot: after a token change, start from that bot's pending updates.
        offset = state.get("offset") if state.get("bot_id") == bot_id else None
        wait = int(self.config.get("poll_timeout", DEFAULT_POLL_TIMEOUT))
        async with self._api(timeout=wait + 10.0) as api:
            raw = await api.call(
                "getUpdates",
                {
                    "offset": offset,
                    "limit": 100,
                    "timeout": wait,
                    "allowed_updates": ALLOWED_UPDATES,
                },
            )
            items, next_offset = await self._collect(api, raw, offset)
        new_state = {"offset": next_offset, "bot_id": bot_id} if next_offset is not None else state
        return PollResult(items, new_state)

    async def _collect(
        self, api: BotApi, raw: object, offset: int | None
    ) -> tuple[list[Inbound | DeliveryUpdate], int | None]:
        """The messages of a getUpdates batch, and the offset that confirms what was handled."""
        items: list[Inbound | DeliveryUpdate] = []
        next_offset = offset
        deadline = time.monotonic() + PROCESSING_BUDGET_SECONDS
        for entry in raw if isinstance(raw, list) else []:
            if time.monotonic() > deadline:
                break  # the rest stays unconfirmed and comes again on the next poll
            update_id = entry.get("update_id") if isinstance(entry, dict) else None
            if not isinstance(update_id, int):
                raise PayloadError(
                    f"getUpdates returned an entry without update_id: {entry!r:.200}"
                )
            try:
                update = msgspec.convert(entry, Update)
            except msgspec.ValidationError as exc:
                # Skipped, not retried forever: kept verbatim like a bad webhook payload.
                await self._keep(entry, f"not a Telegram update: {exc}")
                next_offset = update_id + 1
                continue
            try:
                item = await self._inbound(api, update)
            except TelegramApiError as exc:
                if not items:
                    raise  # nothing to show for this poll: let the job record the failure
                # Store what we have; this update is fetched again on the next poll.
                log.warning("inbox %s: update %s deferred: %s", self.inbox_id, update_id, exc)
                break
            if item is not None:
                items.append(item)
            next_offset = update_id + 1
        return items, next_offset

    async def _keep(self, entry: object, error: str) -> None:
        from hub.ingest import rawpayloads

        await rawpayloads.keep(
            inbox_id=self.inbox_id,
            channel=self.kind,
            headers={"content-type": "application/json"},
            body=msgspec.json.encode(entry),
            error=error,
        )

    # Outbound ---------------------------------------------------------------------------------

    async def send(self, message: Outbound) -> str:
        if not self.config.get("bot_token"):
            raise PermanentSendError("this Telegram inbox has no bot_token", code="no_token")
        async with self._api() as api:
            return await sending.send(api, message)

    # Lifecycle --------------------------------------------------------------------------------

    async def on_created(self) -> dict[str, Any]:
        async with self._api() as api:
            return await self._set_up(api)

    async def on_updated(self, previous: dict[str, Any]) -> dict[str, Any]:
        """Switch between webhook and polling, or move to another bot token / API server."""
        keys = ("bot_token", "mode", "api_base_url", "webhook_secret")
        if all(previous.get(k) == self.config.get(k) for k in keys):
            return {}
        fresh: dict[str, Any] = {}
        if (
            self.config.get("api_base_url") != previous.get("api_base_url")
            and self.mode == "webhook"
            and self.config.get("webhook_secret") == previous.get("webhook_secret")
        ):
            # The old secret authenticates Telegram's calls to us: never hand it to another
            # API server.
            fresh = {"webhook_secret": secrets.token_urlsafe(32)}
            self.config = {**self.config, **fresh}
        async with self._api() as api:
            extra = {**fresh, **await self._set_up(api)}
        other_bot = any(
            previous.get(k) != self.config.get(k) for k in ("bot_token", "api_base_url")
        )
        if other_bot and previous.get("mode", "webhook") == "webhook" and previous.get("bot_token"):
            # The old bot would keep pushing to this inbox's URL: unregister it (best effort).
            try:
                async with self._api(config=previous) as old:
                    await self._remove_webhook(old)
            except TelegramApiError as exc:
                log.warning("inbox %s: the old bot's webhook stays: %s", self.inbox_id, exc)
        return extra

    async def on_deleted(self) -> None:
        if self.mode == "webhook":
            async with self._api() as api:
                await self._remove_webhook(api)

    async def _set_up(self, api: BotApi) -> dict[str, Any]:
        """Check the token (getMe), then register or remove the webhook; raise ValueError → 422."""
        try:
            me = await api.call("getMe")
        except TelegramApiError as exc:
            if exc.code in (401, 404):
                raise ValueError(
                    f"Telegram refused the bot token ({exc.description}): copy it again from BotFather"
                ) from None
            raise ValueError(f"the Telegram Bot API could not check the token: {exc}") from None
        extra: dict[str, Any] = {"bot_id": me.get("id"), "bot_username": me.get("username", "")}
        try:
            if self.mode == "webhook":
                await api.call(
                    "setWebhook",
                    {
                        "url": self.webhook_url,
                        "secret_token": self.config["webhook_secret"],
                        "allowed_updates": ALLOWED_UPDATES,
                        "max_connections": 40,
                    },
                )
            else:
                # getUpdates answers 409 while a webhook is set; pending updates are kept.
                await api.call("deleteWebhook", {"drop_pending_updates": False})
        except TelegramApiError as exc:
            raise ValueError(
                f"Telegram refused the {self.mode} set-up: {exc.description}"
            ) from None
        return extra

    async def _remove_webhook(self, api: BotApi) -> None:
        """Delete the bot's webhook only if it still points here (the bot may serve another inbox now)."""
        info = await api.call("getWebhookInfo")
        if isinstance(info, dict) and info.get("url") == self.webhook_url:
            await api.call("deleteWebhook", {"drop_pending_updates": False})
