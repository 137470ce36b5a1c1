"""A contract fake of Meta's Graph API for WhatsApp: send messages, phone number info, media.

Auth is checked as Meta does: `Authorization: Bearer <token>`, else 401 with an OAuthException
(code 190). Sends are `POST /{version}/{phone_number_id}/messages` with JSON. Media is an id →
`GET /{version}/{media id}` gives a URL → `GET` that URL with the same bearer gives the bytes.
It can be told to fail the next sends with a WhatsApp error code (131047, 130429 / 429, 500).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get, post

_ERRORS: dict[int, tuple[int, int, str, str]] = {
    # requested → (HTTP status, code, message, details)
    131047: (
        400,
        131047,
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last"
        " replied to this number.",
    ),
    132001: (404, 132001, "(#132001) Template name does not exist in the translation", ""),
    130429: (429, 130429, "(#130429) Rate limit hit", ""),
    429: (429, 130429, "(#130429) Rate limit hit", ""),
    500: (500, 131000, "(#131000) Something went wrong", ""),
}


def graph_error(
    status: int, code: int, message: str, details: str = "", kind: str = "OAuthException"
) -> Response[dict[str, Any]]:
    error: dict[str, Any] = {
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": "A" + secrets.token_hex(10),
    }
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return Response({"error": error}, status_code=status)


@dataclass
class FakeGraph:
    access_token: str
    phone_number_id: str
    display_phone_number: str = "15550001234"
    base_url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    unauthorized: int = 0
    fail_next: list[int] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # media id → (bytes, type)
    media_downloads: int = 0

    def _authorized(self, request: Request[Any, Any, Any]) -> bool:
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {self.access_token}".encode()):
            return True
        self.unauthorized += 1
        return False

    def _denied(self) -> Response[dict[str, Any]]:
        return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")

    def app(self) -> Litestar:
        @post("/{version:str}/{object_id:str}/messages", status_code=200)
        async def send(
            request: Request[Any, Any, Any], version: str, object_id: str
        ) -> Response[Any]:
            if not self._authorized(request):
                return self._denied()
            if object_id != self.phone_number_id:
                return graph_error(
                    400,
                    100,
                    f"Unsupported post request. Object with ID '{object_id}' does not exist",
                    kind="GraphMethodException",
                )
            self.attempts += 1
            payload = msgspec.json.decode(await request.body())
            if self.fail_next:
                status, code, message, details = _ERRORS.get(
                    self.fail_next.pop(0), (400, 100, "(#100) Invalid parameter", "")
                )
                return graph_error(status, code, message, details)
            if payload.get("messaging_product") != "whatsapp" or not payload.get("to"):
                return graph_error(400, 100, "(#100) Invalid parameter")
            kind = payload.get("type", "text")
            if kind not in payload:
                return graph_error(400, 100, f"(#100) The parameter {kind} is required.")
            self.sent.append(payload)
            return Response(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": payload["to"], "wa_id": payload["to"]}],
                    "messages": [{"id": "wamid.HBgL" + secrets.token_hex(12).upper()}],
                }
            )

        @get("/{version:str}/{object_id:str}")
        async def fetch(
            request: Request[Any, Any, Any], version: str, object_id: str
        ) -> Response[Any]:
            if not self._authorized(request):
                return self._denied()
            if object_id == self.phone_number_id:
                return Response(
                    {
                        "display_phone_number": self.display_phone_number,
                        "verified_name": "Hub Tests",
                        "id": object_id,
                    }
                )
            if object_id in self.media:
                data, content_type = self.media[object_id]
                return Response(
                    {
                        "messaging_product": "whatsapp",
                        "url": f"{self.base_url}/lookaside/whatsapp_business/attachments/?mid={object_id}",
                        "mime_type": content_type,
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "file_size": len(data),
                        "id": object_id,
                    }
                )
            return graph_error(
                400,
                100,
                f"Unsupported get request. Object with ID '{object_id}' does not exist",
                kind="GraphMethodException",
            )

        @get("/lookaside/whatsapp_business/attachments/")
        async def download(request: Request[Any, Any, Any], mid: str) -> Response[Any]:
            if not self._authorized(request):
                return self._denied()
            if mid not in self.media:
                return Response(b"not found", status_code=404)
            self.media_downloads += 1
            data, content_type = self.media[mid]
            return Response(data, media_type=content_type)

        return Litestar(route_handlers=[send, fetch, download], logging_config=None)
