"""Posting to Slack: chat.postMessage with a bot token (answers the message's `ts`, so later
events can reply in its thread), or an incoming webhook (answers no `ts`: no threads).

Errors are sorted for the hub's retry loop: 429 → SlackRateLimited with Retry-After; 5xx and
network trouble → SlackError(temporary); `ok: false` and 4xx → SlackError(permanent).
"""

from __future__ import annotations

from typing import Any

import httpx

from adapters.slack.blocks import message
from hub.notifications.contract import SlackError, SlackRateLimited

TIMEOUT = httpx.Timeout(10.0)
# Errors of chat.postMessage that a retry can fix; every other `ok: false` is permanent.
_TEMPORARY = {
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
}


class SlackSender:
    """The `slack` notifier: one `post` per Slack message."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.transport = transport

    async def post(
        self, config: dict[str, Any], channel: str, note: dict[str, Any], thread_ts: str | None
    ) -> str | None:
        """Post one notification; returns the message's `ts` (bot token) or None (webhook)."""
        body: dict[str, Any] = message(note)
        if thread_ts:
            body["thread_ts"] = thread_ts
        async with httpx.AsyncClient(timeout=TIMEOUT, transport=self.transport) as http:
            try:
                if config.get("bot_token"):
                    base = str(config.get("api_base_url") or "https://slack.com/api").rstrip("/")
                    response = await http.post(
                        f"{base}/chat.postMessage",
                        json={"channel": channel, **body},
                        headers={"Authorization": f"Bearer {config['bot_token']}"},
                    )
                else:
                    response = await http.post(str(config["webhook_url"]), json=body)
            except httpx.HTTPError as exc:
                raise SlackError(f"cannot reach Slack: {exc}", temporary=True) from exc
        return _answer(response, webhook=not config.get("bot_token"))


def _answer(response: httpx.Response, *, webhook: bool) -> str | None:
    if response.status_code == 429:
        raw = response.headers.get("retry-after", "")
        raise SlackRateLimited(int(raw) if raw.isdigit() else 30)
    if response.status_code >= 500:
        raise SlackError(f"Slack answered {response.status_code}", temporary=True)
    if webhook:
        if response.status_code != 200:
            raise SlackError(f"the webhook refused the message: {response.text.strip()[:200]}")
        return None
    try:
        data = response.json()
    except ValueError:
        raise SlackError(
            f"Slack answered {response.status_code} without JSON", temporary=True
        ) from None
    if not data.get("ok"):
        error = str(data.get("error") or f"HTTP {response.status_code}")
        raise SlackError(f"chat.postMessage failed: {error}", temporary=error in _TEMPORARY)
    return str(data["ts"])
