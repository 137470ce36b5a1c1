"""Fetching inbound media with the account's credentials, within the attachment size limit.

A failed fetch does not lose the message: the text is stored and the media reference is kept in
the message's meta (`media_failed`) so an agent can see that something was sent.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Awaitable, Callable

import httpx
import msgspec

from adapters.whatsapp.inbound import MediaRef, WithMedia
from hub.channels.contract import Inbound, InboundAttachment

log = logging.getLogger(__name__)

# Providers answer webhooks' senders within ~15 s; a fetch must leave time to store and answer.
FETCH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class MediaError(Exception):
    """The media could not be fetched; the reason is shown to agents."""


class Fetched(msgspec.Struct, frozen=True):
    data: bytes
    content_type: str


Fetcher = Callable[[MediaRef], Awaitable[Fetched]]


def size_limit(channel_limit: int) -> int:
    """The smaller of the channel's limit and the hub's attachment limit (when it is running)."""
    try:
        from hub.system.services import current

        return min(channel_limit, current().settings.attachment_max_bytes)
    except RuntimeError:
        return channel_limit


async def download(
    client: httpx.AsyncClient,
    url: str,
    *,
    limit: int,
    auth: httpx.Auth | None = None,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """GET the content, following redirects (Twilio answers with one to its CDN).

    httpx drops credentials when a redirect leaves the origin, so they never reach the CDN.
    """
    try:
        async with client.stream(
            "GET", url, auth=auth, headers=headers, follow_redirects=True
        ) as response:
            if response.status_code != 200:
                raise MediaError(f"the provider answered {response.status_code} for the media")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise MediaError(f"the media is {declared} bytes; the limit is {limit} bytes")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise MediaError(f"the media is over the limit of {limit} bytes")
                chunks.append(chunk)
            content_type = response.headers.get("content-type", "")
    except httpx.HTTPError as exc:
        raise MediaError(f"the media could not be fetched ({type(exc).__name__})") from exc
    return Fetched(b"".join(chunks), content_type)


def filename_for(ref: MediaRef, content_type: str, fallback_stem: str) -> str:
    if ref.filename:
        return ref.filename
    bare = content_type.split(";", 1)[0].strip().lower()
    extension = mimetypes.guess_extension(bare) or ""
    kind = bare.split("/", 1)[0] if "/" in bare else "file"
    return f"{kind}-{fallback_stem}{extension}"


async def attach(item: WithMedia, fetch: Fetcher) -> Inbound:
    """The Inbound with its media fetched; failures are noted in meta, never raised."""
    inbound = item.inbound
    if not item.media:
        return inbound
    attachments = list(inbound.attachments)
    failed: list[dict[str, str]] = []
    for index, ref in enumerate(item.media):
        try:
            fetched = await fetch(ref)
        except MediaError as exc:
            log.warning(
                "inbox %s: media %d of %s not stored: %s",
                inbound.inbox_id,
                index,
                inbound.provider_message_id,
                exc,
            )
            failed.append({"ref": ref.ref, "content_type": ref.content_type, "error": str(exc)})
            continue
        # The webhook's declared type is what the customer sent; the CDN's may be generic.
        content_type = ref.content_type or fetched.content_type or "application/octet-stream"
        content_type = content_type.split(";", 1)[0].strip() or "application/octet-stream"
        stem = f"{inbound.provider_message_id[-12:]}-{index}"
        attachments.append(
            InboundAttachment(
                filename=filename_for(ref, content_type, stem),
                content_type=content_type,
                data=fetched.data,
            )
        )
    meta = dict(inbound.meta)
    if failed:
        meta["media_failed"] = failed
    return msgspec.structs.replace(inbound, attachments=attachments, meta=meta)
