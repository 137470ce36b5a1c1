"""Splitting a reply into what the sender wrote, their signature, and the quoted history.

The timeline shows the new text; the signature and the quoted history are kept beside it (in
the message's meta) so the UI can show them collapsed. Nothing is thrown away.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_WROTE = re.compile(
    r"^[\s>*-]*(on|am|le|el|il|op|em|den|w dniu|el día)\b.{0,300}"
    r"(wrote|schrieb|a écrit|escribió|ha scritto|schreef|escreveu|skrev|napisał|написал|написала)"
    r"\s*:\s*\**$",
    re.IGNORECASE,
)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original"
    r"|messaggio originale|oorspronkelijk bericht|исходное сообщение)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\*?(from|von|de|van|da|od|от)\s*:\*?\s+\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(sent|date|gesendet|datum|envoyé|enviado|verzonden|inviato|data|отправлено|subject|to)\s*:",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{20,}\s*$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(sent from my \w+|sent from (mail|outlook|yahoo mail) for|get outlook for \w+"
    r"|sent with \w+|sent from \w+ mail|von meinem \w+ gesendet|envoyé de mon \w+"
    r"|enviado desde mi \w+|inviato da \w+)",
    re.IGNORECASE,
)
# An attribution that a client wrapped: the next line continues it.
_UNFINISHED = re.compile(r"(<|,|\s\d{1,2}:\d{2}|@\S*)\s*$")


class Split(NamedTuple):
    text: str
    signature: str
    quoted: str


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


def _splitter_at(lines: list[str], i: int) -> int:
    """How many lines starting at `i` form a quote header (0 when none)."""
    line = lines[i]
    if _is_quote(line):
        return 0
    if _ORIGINAL.match(line) or _WROTE.match(line):
        return 1
    # "On Mon, 2 Apr 2012 at 18:26, Megan <\nmegan@example.com> wrote:" wrapped over 2-3 lines.
    joined = line
    for extra in (1, 2):
        if i + extra >= len(lines) or not lines[i + extra].strip():
            break
        joined = f"{joined} {lines[i + extra].strip()}"
        if _WROTE.match(joined) and len(joined) < 400:
            return extra + 1
    if _RULE.match(line) and i + 1 < len(lines) and _HEADER_FROM.match(lines[i + 1]):
        return 1
    if _HEADER_FROM.match(line):
        following = [ln for ln in lines[i + 1 : i + 5] if ln.strip()]
        if sum(1 for ln in following if _HEADER_NEXT.match(ln)) >= 2:
            return 1
    return 0


def _attribution_before(lines: list[str], quote_start: int) -> int:
    """Index of the "… wrote:" line(s) just above a quote block, or `quote_start` if none."""
    j = quote_start - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j < 0 or not lines[j].rstrip().endswith(":"):
        return quote_start
    start = j
    # Wrapped attributions end in "<" or a date/time; never swallow a plain sentence above them.
    while start - 1 >= 0 and lines[start - 1].strip() and _UNFINISHED.search(lines[start - 1]):
        start -= 1
    return start


def _signature(lines: list[str]) -> int:
    """Index where the signature starts in the reply lines (len(lines) when there is none)."""
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].rstrip() in ("--", "-- ", "—", "__"):
            return i
    body = [i for i, ln in enumerate(lines) if ln.strip()]
    for i in body[-3:]:
        if i != body[0] and _MOBILE_SIGNATURE.match(lines[i]):
            return i
    return len(lines)


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n").rstrip()


def split_reply(body: str) -> Split:
    """Separate the new text from the signature and the quoted history."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    reply: list[str] = []
    quoted: list[str] = []
    cut = None
    for i in range(len(lines)):
        size = _splitter_at(lines, i)
        if size:
            cut = i
            break
        if _is_quote(lines[i]) and all(_is_quote(ln) or not ln.strip() for ln in lines[i:]):
            cut = _attribution_before(lines, i)
            break
    if cut is not None and any(ln.strip() for ln in lines[:cut]):
        # Top-posting: everything from the first quote header on is history.
        reply, quoted = lines[:cut], lines[cut:]
    else:
        # Bottom-posting or inline answers: drop the quoted lines and their headers, keep the rest.
        i = 0
        while i < len(lines):
            size = _splitter_at(lines, i) or (1 if _is_quote(lines[i]) else 0)
            if size:
                quoted.extend(lines[i : i + size])
                i += size
            else:
                reply.append(lines[i])
                i += 1
    if not any(ln.strip() for ln in reply):
        # Only a quote (a bare forward): the quote is the content.
        return Split(_join(lines), "", "")
    sig = _signature(reply)
    return Split(_join(reply[:sig]), _join(reply[sig:]), _join(quoted))
