"""A small Bot API client over httpx: `{base}/bot<token>/<method>` and `{base}/file/bot<token>/<path>`.

We talk to the HTTP API directly rather than through python-telegram-bot's `Bot`: the adapter
needs a handful of methods, raw update dicts (for fixtures and the raw payload), per-call timeouts
(long polling) and the error envelope's `retry_after`, which plain httpx gives with less
machinery. Requests are form-encoded like python-telegram-bot's (nested values as JSON strings),
uploads multipart. The token is part of every URL, so no message built here contains a URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

DEFAULT_API_BASE_URL = "https://api.telegram.org"
# Telegram's own limits (core.telegram.org/bots/api#getfile, #sending-files).
DOWNLOAD_LIMIT_BYTES = 20 * 1024 * 1024
UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024
PHOTO_UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 15.0

Upload = tuple[str, bytes, str]  # (filename, content, content type)


class TelegramApiError(Exception):
    """The Bot API answered `ok: false`, or could not be reached (code 0)."""

    def __init__(
        self,
        method: str,
        code: int,
        description: str,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{method}: {description}" + (f" (error {code})" if code else ""))
        self.method = method
        self.code = code
        self.description = description
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth retrying: flood control, Telegram's own failures, or no answer at all."""
        return self.code in (0, 429) or self.code >= 500


def _form_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class BotApi:
    """Use as `async with BotApi(token, base_url) as api:`; one connection pool per use."""

    def __init__(
        self, token: str, base_url: str = DEFAULT_API_BASE_URL, *, timeout: float | None = None
    ) -> None:
        self._token = token
        self._base = base_url.rstrip("/")
        self._timeout = timeout or DEFAULT_TIMEOUT_SECONDS
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> BotApi:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 5.0))
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("use BotApi as an async context manager")
        return self._client

    async def call(
        self,
        method: str,
        params: Mapping[str, object] | None = None,
        *,
        files: Mapping[str, Upload] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Call a method; returns `result`, raises TelegramApiError."""
        data = {k: _form_value(v) for k, v in (params or {}).items() if v is not None}
        url = f"{self._base}/bot{self._token}/{method}"
        try:
            response = await self.client.post(
                url,
                data=data,
                files=dict(files) if files else None,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
        except httpx.TimeoutException as exc:
            raise TelegramApiError(method, 0, f"no answer in time ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TelegramApiError(
                method, 0, f"the Bot API could not be reached ({type(exc).__name__})"
            ) from None
        return _result(method, response)

    async def download(self, file_path: str, *, limit: int) -> bytes:
        """Fetch a file found with getFile, refusing more than `limit` bytes while streaming."""
        url = f"{self._base}/file/bot{self._token}/{file_path.lstrip('/')}"
        chunks: list[bytes] = []
        size = 0
        try:
            async with self.client.stream("GET", url) as response:
                if response.status_code != 200:
                    await response.aread()
                    _result("download", response)  # raises with Telegram's description
                    raise TelegramApiError("download", response.status_code, "unexpected answer")
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise TelegramApiError(
                            "download", 400, f"the file is larger than {limit} bytes"
                        )
                    chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise TelegramApiError(
                "download", 0, f"no answer in time ({type(exc).__name__})"
            ) from None
        except httpx.TransportError as exc:
            raise TelegramApiError(
                "download", 0, f"the file server could not be reached ({type(exc).__name__})"
            ) from None
        return b"".join(chunks)


def _result(method: str, response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        # A proxy's HTML error page, or an empty answer: only the status says anything.
        raise TelegramApiError(method, response.status_code, f"HTTP {response.status_code}")
    if body.get("ok") is True and response.status_code == 200:
        return body.get("result")
    parameters = body.get("parameters") or {}
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    raise TelegramApiError(
        method,
        int(body.get("error_code") or response.status_code),
        str(body.get("description") or f"HTTP {response.status_code}"),
        retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
    )
