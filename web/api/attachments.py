"""Attachments: upload for replies, and download for agents who may see the conversation."""

from __future__ import annotations

import base64
import time
from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import File

from hub.auth import access
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.db.engine import connection_pool
from hub.storage import attachments
from hub.system.crypto import sign, verify
from hub.system.services import current
from web.errors import ApiError


class Uploaded(msgspec.Struct):
    upload: str
    sha256: str
    filename: str
    content_type: str
    size: int


# An upload is attached to a reply soon after; a token found later (in a log, a browser's
# history) should not attach the file anywhere.
UPLOAD_TTL_SECONDS = 24 * 3600


def _token(meta: dict[str, Any], agent_id: int) -> str:
    stamped = {**meta, "agent": agent_id, "expires": int(time.time()) + UPLOAD_TTL_SECONDS}
    body = base64.urlsafe_b64encode(msgspec.json.encode(stamped)).decode()
    return body + "." + sign(current().settings.secret_key, "upload", body.encode())


async def resolve_uploads(tokens: list[str], agent_id: int) -> list[dict[str, Any]]:
    """Turn upload tokens back into stored-file descriptions; refuses forged or expired tokens,
    and tokens of another agent's uploads."""
    resolved = []
    for token in tokens:
        body, _, mac = token.partition(".")
        if not mac or not verify(current().settings.secret_key, "upload", body.encode(), mac):
            raise ApiError(400, "an attachment token is not valid; upload the file again")
        meta = msgspec.json.decode(base64.urlsafe_b64decode(body))
        if meta.pop("agent", None) != agent_id or meta.pop("expires", 0) < time.time():
            raise ApiError(400, "an attachment token is not valid; upload the file again")
        resolved.append(meta)
    return resolved


@post(
    "/api/v1/attachments",
    tags=["attachments"],
    status_code=201,
    permission=Permission.READ_CONVERSATIONS,
)
async def upload(
    principal: Principal,
    data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Uploaded:
    """Upload a file (multipart field `data`); pass the returned `upload` token with a reply."""
    settings = current().settings
    content = await data.read()
    try:
        digest, size = await attachments.store(
            settings.attachments_dir, content, limit=settings.attachment_max_bytes
        )
    except attachments.AttachmentTooLarge as exc:
        raise ApiError(413, str(exc)) from None
    meta: dict[str, Any] = {
        "sha256": digest,
        "size": size,
        "filename": attachments.safe_filename(data.filename or ""),
        "content_type": data.content_type or "application/octet-stream",
    }
    return Uploaded(
        upload=_token(meta, principal.agent.id),
        sha256=digest,
        size=size,
        filename=str(meta["filename"]),
        content_type=str(meta["content_type"]),
    )


@get(
    "/api/v1/attachments/{attachment_id:int}",
    tags=["attachments"],
    permission=Permission.READ_CONVERSATIONS,
)
async def download(principal: Principal, attachment_id: int) -> File:
    """Download an attachment of a conversation you may see. Never rendered inline unless safe."""
    pool = connection_pool()
    row = await pool.fetchrow(
        "SELECT a.sha256, a.filename, a.content_type, m.conversation FROM attachment a"
        " JOIN message m ON m.id = a.message WHERE a.id = $1",
        attachment_id,
    )
    if row is None:
        raise access.NotFound(f"no attachment {attachment_id}")
    await access.check_conversation(principal.agent, row["conversation"])
    path = attachments.path_for(current().settings.attachments_dir, row["sha256"])
    if not path.is_file():
        raise ApiError(404, "the attachment's file is missing from storage")
    content_type = (
        row["content_type"]
        if row["content_type"] in attachments.SAFE_INLINE_TYPES
        else "application/octet-stream"
    )
    return File(
        path=path,
        filename=row["filename"] or "attachment",
        media_type=content_type,
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )


handlers = [upload, download]
