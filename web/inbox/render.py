"""Jinja rendering for the HTML pages: one autoescaping environment, time helpers, headers.

The pages own their environment (rather than the app's template engine) so the filters they
need are registered in one place next to them, and autoescaping is on by construction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from litestar import MediaType, Response

from hub.conversations.inbox_views import COUNT_CAP
from web.inbox import sla_badge
from web.inbox.sanitize import html_body, text_body
from web.inbox.timestamps import when

WEB = Path(__file__).resolve().parent.parent
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"
UTC = ZoneInfo("UTC")

CHANNEL_NAMES = {
    "api": "API",
    "email": "Email",
    "telegram": "Telegram",
    "whatsapp_twilio": "WhatsApp",
    "whatsapp_cloud": "WhatsApp",
    "webchat": "Website chat",
}


def _local(ctx: Context, value: str | dt.datetime | None) -> dt.datetime | None:
    at = when(value)
    tz = ctx.get("tz") or UTC
    return at.astimezone(tz) if at else None


def ago(value: str | dt.datetime | None, now: dt.datetime | None = None) -> str:
    """Compact elapsed time for rows: 45s, 12m, 3h, 2d, 5w."""
    at = when(value)
    if at is None:
        return ""
    seconds = max(0, int(((now or dt.datetime.now(dt.UTC)) - at).total_seconds()))
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@pass_context
def clock(ctx: Context, value: str | dt.datetime | None) -> str:
    at = _local(ctx, value)
    return at.strftime("%H:%M") if at else ""


@pass_context
def day_key(ctx: Context, value: str | dt.datetime | None) -> str:
    at = _local(ctx, value)
    return at.date().isoformat() if at else ""


@pass_context
def day_label(ctx: Context, value: str | dt.datetime | None) -> str:
    at = _local(ctx, value)
    if at is None:
        return ""
    today = dt.datetime.now(at.tzinfo).date()
    if at.date() == today:
        return "Today"
    if at.date() == today - dt.timedelta(days=1):
        return "Yesterday"
    return at.strftime("%a %-d %b %Y")


@pass_context
def stamp(ctx: Context, value: str | dt.datetime | None) -> str:
    """A full local time for titles and tables."""
    at = _local(ctx, value)
    return at.strftime("%Y-%m-%d %H:%M %Z") if at else ""


def money(value: float | int | str | None) -> str:
    """An amount from the CRM (a JSON number) with two decimals; '' when unknown."""
    if value is None or value == "":
        return ""
    return f"{float(value):,.2f}"


def iso(value: str | dt.datetime | None) -> str:
    at = when(value)
    return at.isoformat() if at else ""


def filesize(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def channel_name(channel: str | None) -> str:
    return CHANNEL_NAMES.get(channel or "", channel or "")


def channel_icon(channel: str | None) -> str:
    """The id of the channel's symbol in templates/_icons.html."""
    name = channel or ""
    if name.startswith("whatsapp"):
        return "whatsapp"
    return name if name in ("email", "telegram", "webchat", "api") else "channel"


@cache
def asset(name: str) -> str:
    """A static URL with a content hash, so a deploy never serves a stale script."""
    path = STATIC / name
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.is_file() else "0"
    return f"/static/{name}?v={digest}"


def timezone(name: str | None) -> ZoneInfo:
    """The agent's time zone from the `tz` cookie the page script sets; UTC when unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ValueError, KeyError, OSError):
            pass
    return UTC


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ago=ago,
        clock=clock,
        day_key=day_key,
        day_label=day_label,
        stamp=stamp,
        iso=iso,
        money=money,
        filesize=filesize,
        channel_name=channel_name,
        channel_icon=channel_icon,
        html_body=html_body,
        text_body=text_body,
    )
    env.filters.update(sla_badge=sla_badge.badge, sla_targets=sla_badge.targets)
    env.globals.update(asset=asset, count_cap=COUNT_CAP, server_now_ms=sla_badge.server_now_ms)
    return env


ENV = _environment()


def render(template: str, context: dict[str, Any]) -> str:
    return ENV.get_template(template).render(context)


def _security_headers(host: str) -> dict[str, str]:
    # Customer HTML is sanitised, and this policy is the second wall: no inline script, no
    # foreign origins, the live socket only to this host.
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        f" connect-src 'self' ws://{host} wss://{host}; frame-ancestors 'none'; base-uri 'none';"
        " form-action 'self'; object-src 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
    }


def html(
    template: str,
    context: dict[str, Any],
    *,
    host: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    return Response(
        render(template, context),
        status_code=status,
        media_type=MediaType.HTML,
        headers={**_security_headers(host), **(headers or {})},
    )
