"""Customer content made safe to show: HTML email bodies sanitised, text escaped, quotes folded.

Email HTML is hostile input. nh3 (ammonia) keeps a short list of formatting tags and drops
everything active (scripts, styles, event handlers, forms, frames, javascript: URLs). Images are
dropped too: remote ones are tracking pixels, and inline (cid:) ones are not resolvable here.
The page's Content-Security-Policy is the second wall.
"""

from __future__ import annotations

import re

import nh3
from markupsafe import Markup, escape

_TAGS = set(nh3.ALLOWED_TAGS) - {"img", "map", "area"}
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items() if tag in _TAGS}
# The markers mail clients put around quoted history; kept so it can be folded away.
_QUOTE_CLASSES = {"div": {"gmail_quote", "moz-cite-prefix", "yahoo_quoted"}}
_QUOTE_START = re.compile(r'<blockquote\b|<div class="(?:gmail_quote|moz-cite-prefix|yahoo_quoted)')
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags={"script", "style", "title", "head", "template", "noscript"},
        attributes=_ATTRIBUTES,
        allowed_classes=_QUOTE_CLASSES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )


def _folded(head: Markup, quoted: Markup) -> Markup:
    return head + Markup(
        '<details class="quoted"><summary>Show quoted text</summary>{}</details>'
    ).format(quoted)


def html_body(html: str) -> Markup:
    """Sanitised HTML with the quoted history (from the first quote marker on) folded away."""
    cleaned = clean(html)
    match = _QUOTE_START.search(cleaned)
    if match is None or not cleaned[: match.start()].strip():
        return Markup(cleaned)
    # Splitting serialised HTML can leave a tag open on one side: cleaning each half again
    # re-balances both, so the fold never breaks the page's own markup.
    head, tail = clean(cleaned[: match.start()]), clean(cleaned[match.start() :])
    return _folded(Markup(head), Markup(tail))


def _linked(text: str) -> Markup:
    out = Markup()
    last = 0
    for match in _URL.finditer(text):
        out += escape(text[last : match.start()])
        url = match.group(0)
        out += Markup(
            '<a href="{}" target="_blank" rel="noopener noreferrer nofollow">{}</a>'
        ).format(url, url)
        last = match.end()
    return out + escape(text[last:])


def _quote_start(lines: list[str]) -> int:
    """Index of the trailing block of '>' lines (with its 'On … wrote:' line), else len(lines)."""
    start = len(lines)
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        if stripped.startswith(">") or (not stripped and start < len(lines)):
            start = index if stripped else start
            continue
        if not stripped:
            continue
        break
    if start < len(lines) and start > 0:
        previous = lines[start - 1].strip()
        if previous.endswith("wrote:") or previous.endswith("schrieb:"):
            start -= 1
    return start


def text_body(text: str) -> Markup:
    """Plain text escaped, links made clickable, a trailing quoted reply folded away."""
    lines = text.rstrip().split("\n")
    start = _quote_start(lines)
    head = "\n".join(lines[:start]).rstrip()
    if start >= len(lines) or not head:
        return _linked(text.rstrip())
    return _folded(_linked(head), _linked("\n".join(lines[start:])))
