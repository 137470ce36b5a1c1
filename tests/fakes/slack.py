"""A contract fake of Slack's Web API chat.postMessage and of an incoming webhook.

As Slack does: the bot token is checked (`invalid_auth`), an unknown channel answers
`{"ok": false, "error": "channel_not_found"}` with HTTP 200, a successful post answers
`{"ok": true, "channel", "ts", "message"}` with a fresh `ts`, and a reply names its parent in
`thread_ts`. It can be told to answer 429 with Retry-After, or an `ok: false` error, next.
The webhook answers the plain text `ok` (and gives no `ts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, post


@dataclass
class FakeSlack:
    token: str = "xoxb-test-token"
    channels: set[str] = field(default_factory=lambda: {"C-SUPPORT", "C-BILLING"})
    posts: list[dict[str, Any]] = field(default_factory=list)  # accepted messages
    attempts: int = 0  # every request, accepted or not
    # The next answers to give instead of posting: (HTTP status, error, Retry-After seconds).
    fail_next: list[tuple[int, str, int]] = field(default_factory=list)
    webhook_posts: list[dict[str, Any]] = field(default_factory=list)
    _serial: int = 0

    def app(self) -> Litestar:
        @post("/api/chat.postMessage", status_code=200)
        async def post_message(request: Request[Any, Any, Any]) -> Response[Any]:
            self.attempts += 1
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return Response({"ok": False, "error": "invalid_auth"}, status_code=200)
            if self.fail_next:
                status, error, retry_after = self.fail_next.pop(0)
                headers = {"Retry-After": str(retry_after)} if status == 429 else {}
                return Response({"ok": False, "error": error}, status_code=status, headers=headers)
            body = msgspec.json.decode(await request.body())
            if body.get("channel") not in self.channels:
                return Response({"ok": False, "error": "channel_not_found"}, status_code=200)
            if not body.get("text") and not body.get("blocks"):
                return Response({"ok": False, "error": "no_text"}, status_code=200)
            self._serial += 1
            ts = f"1700000000.{self._serial:06d}"
            self.posts.append({**body, "ts": ts})
            return Response(
                {"ok": True, "channel": body["channel"], "ts": ts, "message": {"ts": ts}},
                status_code=200,
            )

        @post("/services/T000/B000/XXXX", status_code=200)
        async def webhook(request: Request[Any, Any, Any]) -> Response[str]:
            self.webhook_posts.append(msgspec.json.decode(await request.body()))
            return Response("ok", status_code=200, media_type="text/plain")

        return Litestar(route_handlers=[post_message, webhook], logging_config=None)
