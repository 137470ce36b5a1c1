"""Signed, expiring links to attachments, for providers that fetch media by URL (WhatsApp).

No login: the link is the credential (an HMAC over the attachment id and an expiry, keyed by
HUB_SECRET_KEY, made by the adapter that hands it out). The file is served as a download with a
sandbox CSP, so an HTML attachment opened from a leaked link cannot run in the hub's origin.
"""

from __future__ import annotations

from litestar import get
from litestar.response import File

from adapters.whatsapp.signed_urls import ExpiredMediaToken, InvalidMediaToken, read_token
from hub.db.engine import connection_pool
from hub.storage import attachments
from hub.system.services import current
from web.errors import ApiError


@get("/media/{token:str}", include_in_schema=False, access="public")
async def media(token: str) -> File:
    settings = current().settings
    try:
        attachment_id = read_token(settings.secret_key, token)
    except ExpiredMediaToken as exc:
        raise ApiError(410, str(exc), code="expired") from None
    except InvalidMediaToken as exc:
        raise ApiError(403, str(exc)) from None
    pool = connection_pool()
    row = await pool.fetchrow(
        "SELECT sha256, filename, content_type FROM attachment WHERE id = $1", attachment_id
    )
    if row is None:
        raise ApiError(404, "the attachment no longer exists")
    path = attachments.path_for(settings.attachments_dir, row["sha256"])
    if not path.is_file():
        raise ApiError(404, "the attachment's file is missing from storage")
    # The real type: providers decide how to deliver the media by it (image, document, …).
    return File(
        path=path,
        filename=row["filename"] or "attachment",
        media_type=row["content_type"] or "application/octet-stream",
        content_disposition_type="attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, max-age=300",
        },
    )


handlers = [media]
