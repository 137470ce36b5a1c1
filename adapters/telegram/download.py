"""Customers' files: getFile, then the file endpoint, within Telegram's and the hub's limits."""

from __future__ import annotations

import msgspec

from adapters.telegram.api import DOWNLOAD_LIMIT_BYTES, BotApi, TelegramApiError
from adapters.telegram.parse import Media
from adapters.telegram.wire import File
from hub.channels.contract import InboundAttachment


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def download_limit() -> int:
    """Telegram serves bots files up to 20 MB; the hub may keep less (HUB_ATTACHMENT_MAX_BYTES)."""
    try:
        from hub.system.services import current

        return min(DOWNLOAD_LIMIT_BYTES, current().settings.attachment_max_bytes)
    except RuntimeError:  # no services in this process (a script, a unit test)
        return DOWNLOAD_LIMIT_BYTES


class Downloader:
    """Fetches a customer's file with getFile + the file endpoint, within the download limit."""

    def __init__(self, api: BotApi, limit: int) -> None:
        self.api = api
        self.limit = limit

    async def fetch(self, media: Media) -> InboundAttachment | str:
        too_large = f"over the {_megabytes(self.limit)} download limit"
        if media.size and media.size > self.limit:
            return f"{_megabytes(media.size)} is {too_large}"
        try:
            info = msgspec.convert(await self.api.call("getFile", {"file_id": media.file_id}), File)
            if info.file_size and info.file_size > self.limit:
                return f"{_megabytes(info.file_size)} is {too_large}"
            if not info.file_path:
                return "Telegram did not offer the file for download"
            data = await self.api.download(info.file_path, limit=self.limit)
        except msgspec.ValidationError as exc:
            return f"unexpected getFile answer ({exc})"
        except TelegramApiError as exc:
            if exc.transient:
                raise  # the webhook answers 500 / the poll fails: Telegram sends it again
            return exc.description  # e.g. "Bad Request: file is too big": retrying cannot help
        return InboundAttachment(media.filename, media.content_type, data=data)
