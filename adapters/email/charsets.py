"""Turning mail bytes into text whatever the message claims its charset is.

Declarations are often wrong or missing (8-bit bodies without a charset, Shift_JIS bytes labelled
ISO-2022-JP, `charset=none`), so a declared charset is a first guess, never a promise.
"""

from __future__ import annotations

import codecs
import re

# Declared charsets are widened to the superset that mail clients actually send under that name:
# e.g. Outlook labels cp1252 text "iso-8859-1", and "gb2312" mail holds GBK/GB18030 characters.
_SUPERSETS = {
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "iso8859-1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "big5": "big5hkscs",
    "tis-620": "cp874",
}

# Tried in order when the declared charset is unknown or does not decode the bytes, by the shape
# of the non-ASCII byte runs: CJK double-byte text comes in long even runs, Cyrillic in long
# words of any length, and Western European text in runs of one or two accented letters.
_CJK = ("utf-8", "cp932", "euc-jp", "gb18030", "cp949", "big5hkscs", "cp1252")
_CYRILLIC = ("utf-8", "cp1251", "koi8-r", "cp1252")
_WESTERN = ("utf-8", "cp1252", "cp1250", "cp932", "gb18030")
_SINGLE_BYTE = ("cp125", "iso8859", "latin", "cp874", "koi8", "mac")
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 with a few broken bytes (a name cut mid-character) is still UTF-8."""
    high = sum(len(r) for r in _HIGH_RUN.findall(data))
    valid = sum(len(m) for m in _UTF8_SEQUENCE.findall(data))
    return high > 0 and valid >= 0.9 * high


def _guesses(data: bytes) -> tuple[str, ...]:
    runs = [len(r) for r in _HIGH_RUN.findall(data)]
    if not runs or max(runs) < 3:
        return _WESTERN
    if all(n % 2 == 0 for n in runs):
        return _CJK
    return _CYRILLIC


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    label = name.strip().strip("\"'").lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode `data`, trusting `declared` only if the bytes really are in that charset."""
    if data.isascii():
        # Also right for 7-bit ISO-2022-JP, which only its codec turns into the real characters.
        codec = _codec(declared)
        if codec and codec.startswith("iso2022"):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                pass
        return data.decode("ascii")
    codec = _codec(declared)
    single_byte = bool(codec and codec.startswith(_SINGLE_BYTE))
    if codec and not single_byte:
        decoded = _decode_strict_first(data, (codec,))
        if decoded is not None:
            return decoded
    # A declared single-byte charset decodes anything, so real UTF-8 is tried before it.
    decoded = _decode_strict_first(data, ("utf-8",))
    if decoded is not None:
        return decoded
    if _mostly_utf8(data):
        return data.decode("utf-8", errors="replace")
    decoded = _decode_strict_first(
        data, ((codec,) if single_byte and codec else ()) + _guesses(data)
    )
    if decoded is not None:
        return decoded
    return data.decode(codec or "utf-8", errors="replace")


def _decode_strict_first(data: bytes, candidates: tuple[str, ...]) -> str | None:
    for candidate in dict.fromkeys(candidates):
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return None
