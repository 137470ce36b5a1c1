"""Header values as text: RFC 2047 encoded words, raw 8-bit bytes, addresses and message ids."""

from __future__ import annotations

import datetime as dt
import re
from email.header import decode_header
from email.utils import getaddresses, parsedate_to_datetime

from adapters.email.charsets import decode_bytes

_FOLD = re.compile(r"\r?\n[ \t]*")
_MSGID = re.compile(r"<([^<>\s]+)>")
_BARE_ID = re.compile(r"[^\s<>,;\"]+@[^\s<>,;\"]+")
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# Whitespace between two encoded words is not part of the text (RFC 2047 §6.2).
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")


def unraw(value: str) -> str:
    """Raw 8-bit header bytes (kept by the parser as surrogates) decoded as a body would be."""
    if value.isascii() or not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"))


def text(raw: str | None) -> str:
    """A header's value as text, whatever mix of encoded words and raw bytes it holds."""
    if not raw:
        return ""
    value = unraw(_FOLD.sub(" ", str(raw)).strip())
    if "=?" not in value:
        return value
    try:
        chunks = decode_header(_BETWEEN_WORDS.sub(r"\1\2", value))
    except Exception:
        return value
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset))
        else:
            out.append(chunk)
    return "".join(out).strip()


def message_ids(raw: str | None) -> list[str]:
    """Message ids of a Message-ID / In-Reply-To / References value, without angle brackets."""
    if not raw:
        return []
    value = _FOLD.sub(" ", str(raw))
    found = _MSGID.findall(value) or _BARE_ID.findall(value)
    return list(dict.fromkeys(i.strip() for i in found if i.strip()))


def addresses(values: list[str]) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs; addresses without an @ are dropped."""
    out: list[tuple[str, str]] = []
    cleaned = [unraw(_FOLD.sub(" ", str(v))) for v in values if v]
    try:
        pairs = getaddresses(cleaned)
    except Exception:
        pairs = []
    for name, address in pairs:
        address = address.strip().strip("<>").lower()
        if " " in address:
            # "Test test@example.com" without angle brackets: the address is the last word.
            match = _ADDRESS.search(address)
            if match is None:
                continue
            name, address = name or address[: match.start()].strip(), match.group(0)
        if "@" in address and not address.startswith("@") and not address.endswith("@"):
            out.append((text(name), address))
    if not out:
        # Malformed headers ("Test test@example.com", unbalanced quotes): take what looks like one.
        for value in cleaned:
            decoded = text(value)
            for match in _ADDRESS.finditer(decoded):
                name = decoded[: match.start()].strip().strip("<\"' ")
                out.append((name, match.group(0).lower()))
    return out


def date(raw: str | None) -> dt.datetime | None:
    """The Date header, timezone-aware; None when missing, unparseable or far in the future."""
    if not raw:
        return None
    try:
        parsed = parsedate_to_datetime(_FOLD.sub(" ", str(raw)).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    # A wrong clock must not put a message above everything that arrives for years.
    if parsed > now + dt.timedelta(days=1) or parsed.year < 1980:
        return None
    return parsed
