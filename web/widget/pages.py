"""The embeddable script (GET /widget.js) and the page a "continue the chat" email links to."""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import re
from functools import cache
from pathlib import Path
from typing import Any

from litestar import Request, Response, get

from hub.system.services import current
from hub.visitors import tokens
from web.widget import inboxes

SCRIPT = Path(__file__).with_name("widget.js")


@cache
def _script() -> tuple[bytes, bytes, str]:
    """The script, its gzip (served as is: no compression middleware needed) and its ETag."""
    body = SCRIPT.read_bytes()
    return body, gzip.compress(body, 9, mtime=0), '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


@get("/widget.js", include_in_schema=False, access="public")
async def widget_script(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The chat widget; embed with <script src=".../widget.js" data-inbox="TOKEN" async>."""
    body, zipped, etag = _script()
    headers = {
        "Cache-Control": "public, max-age=300",
        "ETag": etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = zipped
    return Response(body, media_type="application/javascript; charset=utf-8", headers=headers)


_STYLE = "body{font:16px system-ui,sans-serif;margin:2rem;color:#222}"
_PAGE = (
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>"""
    + _STYLE.replace("{", "{{").replace("}", "}}")
    + """</style></head>
<body><h1>{title}</h1><p>{text}</p>{script}</body></html>
"""
)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@cache
def _csp() -> str:
    """This page's policy: its own style and the widget's (its shadow root's one <style>) are
    allowed by their hashes, so the policy has no 'unsafe-inline'."""
    source = SCRIPT.read_text()
    statement = source.split("var css = ", 1)[1].split(";\n", 1)[0]
    widget_css = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', statement))
    return (
        "default-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:;"
        f" style-src 'self' {_sha256(_STYLE)} {_sha256(widget_css)}; frame-ancestors 'none';"
        " base-uri 'none'; object-src 'none'"
    )


@get("/widget/continue", include_in_schema=False, access="public")
async def continue_chat(t: str = "") -> Response[str]:
    """Opens the chat again from an emailed link (the link's token resumes the visitor)."""
    resumed = tokens.read_resume_token(current().settings.secret_key, t)
    inbox = await inboxes.by_id(resumed[0]) if resumed else None
    if inbox is None:
        page = _PAGE.format(
            title="This link has expired",
            text="Open the chat on the website to write to us again.",
            script="",
        )
        return Response(
            page,
            status_code=410,
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": _csp()},
        )
    script = (
        f'<script src="/widget.js" data-inbox="{html.escape(inbox.public_token)}"'
        f' data-resume="{html.escape(t)}" data-open="true" async></script>'
    )
    title = html.escape(inbox.settings.title or inbox.name)
    page = _PAGE.format(title=title, text="Your conversation continues below.", script=script)
    return Response(
        page,
        media_type="text/html; charset=utf-8",
        headers={
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            "Content-Security-Policy": _csp(),
        },
    )
