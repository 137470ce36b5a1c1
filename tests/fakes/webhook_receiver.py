"""A contract fake of a webhook consumer: verifies Hub's signature as a receiver must (HMAC-SHA256
of "<X-Hub-Timestamp>.<raw body>", a timestamp at most five minutes old), deduplicates by
Idempotency-Key, and can be told to answer a status for the next N requests or to hold answers
until the test releases them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, post

TOLERANCE_SECONDS = 300


def verify(secret: str, headers: Any, body: bytes, *, now: float | None = None) -> bool:
    stamp = headers.get("x-hub-timestamp", "")
    if not stamp.isdigit() or abs((now or time.time()) - int(stamp)) > TOLERANCE_SECONDS:
        return False
    expected = (
        "sha256="
        + hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    return hmac.compare_digest(expected, headers.get("x-hub-signature-256", ""))


@dataclass
class WebhookReceiver:
    secret: str = ""
    requests: list[dict[str, Any]] = field(
        default_factory=list
    )  # every signed request: headers, body
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)  # by Idempotency-Key
    bad_signatures: int = 0
    fail_next: list[int] = field(default_factory=list)
    always_fail: int | None = None
    hold: asyncio.Event | None = None

    def app(self) -> Litestar:
        @post("/hook", status_code=200)
        async def hook(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
            body = await request.body()
            if not verify(self.secret, request.headers, body):
                self.bad_signatures += 1
                return Response({"error": "bad signature"}, status_code=401)
            payload = msgspec.json.decode(body)
            self.requests.append({"headers": dict(request.headers), "body": payload})
            if self.always_fail is not None:
                return Response({"error": "down"}, status_code=self.always_fail)
            if self.fail_next:
                return Response({"error": "told to fail"}, status_code=self.fail_next.pop(0))
            if self.hold is not None:
                await self.hold.wait()
            self.stored.setdefault(request.headers.get("idempotency-key", ""), payload)
            return Response({"ok": True, "seen": len(self.stored)}, status_code=200)

        return Litestar(route_handlers=[hook], logging_config=None)

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["body"]["type"] == event_type]
