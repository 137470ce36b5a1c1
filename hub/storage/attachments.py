"""Attachment storage: files under the data folder, content-addressed by sha256."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from pathlib import Path

# Types a browser would render inline with our origin's privileges are served as downloads only.
SAFE_INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "audio/ogg",
        "audio/mpeg",
        "video/mp4",
        "application/pdf",
    }
)


class AttachmentTooLarge(ValueError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the attachment is {size} bytes; the limit is {limit} bytes")
        self.size = size
        self.limit = limit


def path_for(root: Path, sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("not a sha256 digest")
    return root / sha256[:2] / sha256[2:4] / sha256


def _write(root: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    target = path_for(root, digest)
    if target.exists():
        return digest
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: a crash never leaves a half-written file under a valid name.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    return digest


async def store(root: Path, data: bytes, *, limit: int) -> tuple[str, int]:
    """Store content once; returns (sha256, size). Raises AttachmentTooLarge over the limit."""
    if len(data) > limit:
        raise AttachmentTooLarge(len(data), limit)
    digest = await asyncio.to_thread(_write, root, data)
    return digest, len(data)


def safe_filename(name: str, fallback: str = "attachment") -> str:
    cleaned = re.sub(r"[\x00-\x1f/\\]", "_", name).strip().strip(".")
    return cleaned[:200] or fallback
