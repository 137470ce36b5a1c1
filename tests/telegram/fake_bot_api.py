"""A contract fake of the Telegram Bot API (../shared/contracts/telegram.md).

It speaks the documented wire format — `POST /bot<token>/<method>` with form, multipart or JSON
parameters, answers in the `{"ok": …}` envelope, files at `/file/bot<token>/<file_path>` — and
checks the token in the path as Telegram does (wrong token → 401 Unauthorized). It keeps a webhook
registration (getUpdates → 409 while one is set), a queue of updates with getUpdates' offset
confirmation, files for getFile, and records every call. Tell it to fail with `fail(...)`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from litestar import Litestar, Request, Response, route
from litestar.datastructures import UploadFile

TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
DOWNLOAD_LIMIT = 20 * 1024 * 1024
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")

BLOCKED = "Forbidden: bot was blocked by the user"
DEACTIVATED = "Forbidden: user is deactivated"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes, str]]  # field → (filename, content, content type)


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class StoredFile:
    path: str
    content: bytes
    size: int  # what getFile reports (may exceed the content, to simulate huge files)


class BadRequest(Exception):
    def __init__(self, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


@dataclass
class FakeBotApi:
    token: str = TOKEN
    username: str = "hub_test_bot"
    base_url: str = ""  # set once served
    calls: list[Call] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)
    offsets: list[int | None] = field(default_factory=list)  # the offset of every getUpdates call
    files: dict[str, StoredFile] = field(default_factory=dict)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)  # messages the bot sent
    downloads: list[str] = field(default_factory=list)
    unauthorized: int = 0
    _next_update_id: int = 500_000
    _next_message_id: int = 9000
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])

    # Test controls ----------------------------------------------------------------------------

    def queue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Make an update pending, as Telegram does when the bot has no webhook."""
        update = dict(update)
        if "update_id" not in update:
            self._next_update_id += 1
            update["update_id"] = self._next_update_id
        self.pending.append(update)
        self._arrived.set()
        return update

    def add_file(
        self, file_id: str, content: bytes, *, path: str | None = None, size: int | None = None
    ) -> None:
        self.files[file_id] = StoredFile(
            path or f"documents/file_{len(self.files)}",
            content,
            len(content) if size is None else size,
        )

    def fail(
        self,
        method: str,
        status: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` (or "*") with an error envelope."""
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after}",
                403: BLOCKED,
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(status, "Bad Request: told to fail")
        self.failures.setdefault(method, []).extend(
            [Failure(status, description, retry_after)] * times
        )

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def push(self, update: dict[str, Any], *, to: str | None = None) -> httpx.Response:
        """Deliver an update to the registered webhook with its secret header, as Telegram does.

        `to` replaces the scheme and host of the registered URL (the hub's public URL is not the
        loopback address the test server listens on), keeping its path.
        """
        url = str(self.webhook["url"])
        if to:
            url = to.rstrip("/") + httpx.URL(url).raw_path.decode()
        headers = {"content-type": "application/json"}
        if self.webhook.get("secret_token"):
            headers["x-telegram-bot-api-secret-token"] = self.webhook["secret_token"]
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(url, content=json.dumps(update), headers=headers)

    # The server ----------------------------------------------------------------------------------

    def app(self) -> Litestar:
        @route("/{rest:path}", http_method=["GET", "POST"], status_code=200)
        async def endpoint(request: Request[Any, Any, Any], rest: str) -> Response[Any]:
            parts = rest.strip("/").split("/")
            if parts[0] == "file" and len(parts) >= 3:
                return self._download(parts[1], "/".join(parts[2:]))
            if len(parts) != 2 or not parts[0].startswith("bot"):
                return _error(404, "Not Found")
            if parts[0] != f"bot{self.token}":
                self.unauthorized += 1
                return _error(401, "Unauthorized")
            params, files = await _parameters(request)
            method = parts[1]
            self.calls.append(Call(method, params, files))
            queued = self.failures.get(method) or self.failures.get("*")
            if queued:
                failure = queued.pop(0)
                extra = {"retry_after": failure.retry_after} if failure.retry_after else None
                return _error(failure.status, failure.description, extra)
            handler = getattr(self, f"_m_{method.lower()}", None)
            if handler is None:
                return _error(404, "Not Found")
            try:
                result = await handler(params, files)
            except BadRequest as exc:
                return _error(exc.status, exc.description)
            return Response({"ok": True, "result": result}, status_code=200)

        return Litestar(route_handlers=[endpoint], logging_config=None)

    def _download(self, segment: str, file_path: str) -> Response[Any]:
        if segment != f"bot{self.token}":
            self.unauthorized += 1
            return _error(401, "Unauthorized")
        for stored in self.files.values():
            if stored.path == file_path:
                self.downloads.append(file_path)
                return Response(
                    stored.content, media_type="application/octet-stream", status_code=200
                )
        return _error(404, "Not Found")

    # Methods --------------------------------------------------------------------------------------

    async def _m_getme(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Hub Test",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_setwebhook(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.fullmatch(str(secret)):
            raise BadRequest("Bad Request: secret token contains unallowed characters")
        if not url:
            self.webhook = {}
            return True
        if not url.startswith(("http://", "https://")):
            raise BadRequest("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": _json(params.get("allowed_updates")),
            "max_connections": int(params.get("max_connections") or 40),
        }
        return True

    async def _m_deletewebhook(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        self.webhook = {}
        if _flag(params.get("drop_pending_updates")):
            self.pending.clear()
        return True

    async def _m_getwebhookinfo(
        self, params: dict[str, Any], files: dict[str, Any]
    ) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }
        if self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    async def _m_getupdates(
        self, params: dict[str, Any], files: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise BadRequest(
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
                status=409,
            )
        offset = int(params["offset"]) if params.get("offset") not in (None, "") else None
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = float(params.get("timeout") or 0)
        self.offsets.append(offset)
        if offset is not None:
            # Passing an offset confirms every update before it: they are never returned again.
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self.pending and time.monotonic() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        return self.pending[:limit]

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise BadRequest("Bad Request: chat_id is empty")
        self._next_message_id += 1
        chat_number = int(chat_id)
        message: dict[str, Any] = {
            "message_id": self._next_message_id,
            "from": {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "Hub Test",
                "username": self.username,
            },
            "chat": {"id": chat_number, "type": "private" if chat_number > 0 else "supergroup"},
            "date": int(time.time()),
            **content,
        }
        reply = _json(params.get("reply_parameters"))
        if isinstance(reply, dict) and "message_id" in reply:
            message["reply_to_message"] = {
                "message_id": int(reply["message_id"]),
                "chat": message["chat"],
                "date": 0,
            }
        self.sent.append({"params": params, "message": message})
        return message

    async def _m_sendmessage(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text") or "")
        if not text.strip():
            raise BadRequest("Bad Request: message text is empty")
        if len(text) > 4096:
            raise BadRequest("Bad Request: message is too long")
        return self._message(params, text=text)

    def _caption(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = str(params.get("caption") or "")
        if len(caption) > 1024:
            raise BadRequest("Bad Request: message caption is too long")
        return {"caption": caption} if caption else {}

    def _upload(
        self, params: dict[str, Any], files: dict[str, Any], name: str
    ) -> tuple[str, bytes, str]:
        if name in files:
            upload: tuple[str, bytes, str] = files[name]
            return upload
        if params.get(name):  # a file_id or URL Telegram already knows
            stored = self.files.get(str(params[name]))
            if stored is None:
                raise BadRequest("Bad Request: wrong file identifier/HTTP URL specified")
            return (stored.path, stored.content, "application/octet-stream")
        raise BadRequest(f"Bad Request: there is no {name} in the request")

    async def _m_sendphoto(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        _, content, _ = self._upload(params, files, "photo")
        if len(content) > 10 * 1024 * 1024:
            raise BadRequest("Bad Request: PHOTO_INVALID_DIMENSIONS")
        file_id = f"AgACAgIAAxkDAAI{self._next_message_id}"
        self.add_file(file_id, content, path=f"photos/{file_id}.jpg")
        photo = [{"file_id": file_id, "file_unique_id": f"AQAD{file_id[-6:]}", "width": 1280,
                  "height": 960, "file_size": len(content)}]  # fmt: skip
        return self._message(params, photo=photo, **self._caption(params))

    async def _m_senddocument(
        self, params: dict[str, Any], files: dict[str, Any]
    ) -> dict[str, Any]:
        filename, content, content_type = self._upload(params, files, "document")
        if len(content) > 50 * 1024 * 1024:
            raise BadRequest("Bad Request: file is too big", status=413)
        file_id = f"BQACAgIAAxkDAAI{self._next_message_id}"
        self.add_file(file_id, content, path=f"documents/{filename}")
        document = {"file_id": file_id, "file_unique_id": f"AgAD{file_id[-6:]}",
                    "file_name": filename, "mime_type": content_type, "file_size": len(content)}  # fmt: skip
        return self._message(params, document=document, **self._caption(params))

    async def _m_getfile(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id") or "")
        stored = self.files.get(file_id)
        if stored is None:
            raise BadRequest("Bad Request: invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise BadRequest("Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"AQAD{file_id[-8:]}",
            "file_size": stored.size,
            "file_path": stored.path,
        }

    async def _m_answercallbackquery(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise BadRequest(
                "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        return True


def _error(
    status: int, description: str, parameters: dict[str, Any] | None = None
) -> Response[Any]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Response(body, status_code=status)


def _json(value: Any) -> Any:
    """Form parameters carry nested values as JSON strings; JSON bodies carry them as they are."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


async def _parameters(
    request: Request[Any, Any, Any],
) -> tuple[dict[str, Any], dict[str, tuple[str, bytes, str]]]:
    """Telegram accepts query strings, form-encoded, multipart and JSON bodies alike."""
    params: dict[str, Any] = dict(request.query_params)
    files: dict[str, tuple[str, bytes, str]] = {}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = (value.filename, await value.read(), value.content_type)
            else:
                params[key] = value
    return params, files
