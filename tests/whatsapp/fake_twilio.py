"""A contract fake of Twilio's REST API for WhatsApp: Messages, the account, and media.

Auth is checked as Twilio does: HTTP Basic with AccountSid:AuthToken, else 401 with Twilio's
error JSON (code 20003) and a `WWW-Authenticate` challenge. It can be told to fail the next
sends with a Twilio error code (63016 → 400, 20429/429 → 429, 500 → 500). Media URLs need the
same auth and redirect to an unauthenticated "CDN" path, like Twilio's.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from litestar import Litestar, Request, Response, get, post

_ERRORS: dict[int, tuple[int, str]] = {
    63016: (
        400,
        "Failed to send freeform message because you are outside the allowed window."
        " If you are using WhatsApp, please use a Message Template.",
    ),
    63021: (400, "Channel invalid content error"),
    21211: (400, "The 'To' number is not a valid phone number."),
    429: (429, "Too Many Requests"),
    20429: (429, "Too Many Requests"),
    500: (500, "Internal Server Error"),
}


def error(status: int, code: int, message: str) -> Response[dict[str, Any]]:
    return Response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    base_url: str = ""
    sent: list[dict[str, list[str]]] = field(default_factory=list)  # accepted Messages.json forms
    attempts: int = 0  # every authenticated Messages.json POST, failed or not
    unauthorized: int = 0
    fail_next: list[int] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # ME… sid → (bytes, type)
    media_fetches: int = 0

    def _authorized(self, request: Request[Any, Any, Any]) -> bool:
        expected = (
            "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        )
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), expected.encode()):
            return True
        self.unauthorized += 1
        return False

    def _denied(self) -> Response[dict[str, Any]]:
        response = error(401, 20003, "Authenticate")
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return response

    def app(self) -> Litestar:
        @post("/2010-04-01/Accounts/{sid:str}/Messages.json", status_code=201)
        async def create_message(request: Request[Any, Any, Any], sid: str) -> Response[Any]:
            if not self._authorized(request):
                return self._denied()
            if sid != self.account_sid:
                return error(404, 20404, f"The requested resource /Accounts/{sid} was not found")
            self.attempts += 1
            form: dict[str, list[str]] = {}
            for name, value in parse_qsl((await request.body()).decode(), keep_blank_values=True):
                form.setdefault(name, []).append(value)
            if self.fail_next:
                code = self.fail_next.pop(0)
                status, message = _ERRORS.get(code, (400, f"error {code}"))
                return error(status, code, message)
            to = (form.get("To") or [""])[0]
            if not to.startswith("whatsapp:+"):
                return error(400, 21211, _ERRORS[21211][1])
            if not form.get("From") and not form.get("MessagingServiceSid"):
                return error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
            if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
                return error(400, 21619, "A text message body or media urls must be specified.")
            self.sent.append(form)
            message_sid = "SM" + secrets.token_hex(16)
            return Response(
                {
                    "sid": message_sid,
                    "account_sid": sid,
                    "from": form.get("From", [""])[0],
                    "to": to,
                    "body": form.get("Body", [""])[0],
                    "status": "queued",
                    "direction": "outbound-api",
                    "num_media": str(len(form.get("MediaUrl", []))),
                    "num_segments": "1",
                    "error_code": None,
                    "error_message": None,
                    "date_created": "Thu, 01 May 2025 10:00:00 +0000",
                    "api_version": "2010-04-01",
                    "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
                },
                status_code=201,
            )

        # Litestar parameters are whole path segments: "{sid}.json" is one.
        @get("/2010-04-01/Accounts/{resource:str}")
        async def fetch_account(request: Request[Any, Any, Any], resource: str) -> Response[Any]:
            if not self._authorized(request):
                return self._denied()
            sid = resource.removesuffix(".json")
            if sid != self.account_sid:
                return error(404, 20404, f"The requested resource /Accounts/{sid} was not found")
            return Response(
                {"sid": sid, "friendly_name": "Hub tests", "status": "active", "type": "Full"}
            )

        @get("/2010-04-01/Accounts/{sid:str}/Messages/{message:str}/Media/{media_sid:str}")
        async def fetch_media(
            request: Request[Any, Any, Any], sid: str, message: str, media_sid: str
        ) -> Response[Any]:
            if not self._authorized(request):
                return self._denied()
            if sid != self.account_sid or media_sid not in self.media:
                return error(404, 20404, "The requested resource was not found")
            # Twilio answers with a temporary redirect to its media CDN.
            return Response(
                b"", status_code=307, headers={"Location": f"{self.base_url}/cdn/{media_sid}"}
            )

        @get("/cdn/{media_sid:str}")
        async def cdn(media_sid: str) -> Response[bytes]:
            if media_sid not in self.media:
                return Response(b"not found", status_code=404)
            self.media_fetches += 1
            data, content_type = self.media[media_sid]
            return Response(data, media_type=content_type)

        return Litestar(
            route_handlers=[create_message, fetch_account, fetch_media, cdn], logging_config=None
        )
