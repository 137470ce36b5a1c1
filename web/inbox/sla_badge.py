"""The SLA badge of a conversation: time left to the nearest deadline, amber once warned, red
once breached. The server renders it; web/static/inbox/sla.js keeps the countdown live."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.system import clock
from web.inbox.timestamps import when

TARGET_NAMES = {
    "first_response": "First response",
    "next_response": "Next response",
    "resolution": "Resolution",
}


def server_now_ms() -> int:
    """The hub's clock for the page, so the countdown agrees with the server's SLA decisions."""
    return int(clock.now().timestamp() * 1000)


def span(seconds: float) -> str:
    """Compact duration, the same as the countdown script writes: 45s, 12m, 3h 05m, 2d 4h."""
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def badge(sla: dict[str, Any] | None, now: dt.datetime | None = None) -> dict[str, Any] | None:
    if not sla:
        return None
    now = now or clock.now()
    due, warn, breached = when(sla.get("due_at")), when(sla.get("warn_at")), sla.get("breached_at")
    if due is None:
        if breached:
            return {"state": "breached", "text": "SLA breached", "due": "", "warn": ""}
        return None
    left = (due - now).total_seconds()
    if left <= 0 or breached:
        state = "breached"
    elif warn is not None and warn <= now:
        state = "warning"
    else:
        state = "ok"
    text = f"{span(left)} left" if left > 0 else f"overdue {span(left)}"
    return {
        "state": state,
        "text": text,
        "due": due.isoformat(),
        "warn": warn.isoformat() if warn else "",
    }


def targets(sla: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One line per target for the conversation's SLA panel."""
    if not sla:
        return []
    lines = []
    for key, name in TARGET_NAMES.items():
        status = sla.get(f"{key}_status")
        if status is None:
            continue
        lines.append({"key": key, "name": name, "status": status, "due": sla.get(f"{key}_due_at")})
    return lines
