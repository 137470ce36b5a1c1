"""A contract fake of an API-channel integration: receives signed reply callbacks.

It checks the signature as a real receiver must, drops duplicates by Idempotency-Key, and can be
told to fail: answer an HTTP status, or hang past the sender's timeout, for the next N requests;
or to hold every answer until the test releases it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, post


@dataclass
class CallbackReceiver:
    secret: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)  # every request that arrived
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)  # by Idempotency-Key
    bad_signatures: int = 0
    fail_next: list[int | str] = field(default_factory=list)  # status codes, or "hang"
    hang_seconds: float = 3.0
    # While set to an unset Event, successful answers wait for it: a test can watch a reply stay
    # pending for as long as it needs, however slow the machine, then let it through.
    hold: asyncio.Event | None = None

    def app(self) -> Litestar:
        @post("/callback", status_code=200)
        async def callback(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
            body = await request.body()
            expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, request.headers.get("x-hub-signature-256", "")):
                self.bad_signatures += 1
                return Response({"error": "bad signature"}, status_code=403)
            payload = msgspec.json.decode(body)
            self.received.append(payload)
            if self.fail_next:
                action = self.fail_next.pop(0)
                if action == "hang":
                    await asyncio.sleep(self.hang_seconds)
                    # The sender gave up before this answer; the message is not stored.
                    return Response({"error": "too late"}, status_code=504)
                return Response({"error": "told to fail"}, status_code=int(action))
            if self.hold is not None:
                await self.hold.wait()
            key = request.headers.get("idempotency-key", "")
            self.stored.setdefault(key, payload)
            return Response({"id": f"ext-{payload['message']['id']}"}, status_code=200)

        return Litestar(route_handlers=[callback], logging_config=None)

    def deliveries(self, message_id: int) -> int:
        return sum(1 for p in self.stored.values() if p["message"]["id"] == message_id)
