"""Answers for failures that are the client's input or the database's absence, not our bugs.

Found by schemathesis (tests/hostile): ids beyond PostgreSQL's integer range, text with NUL
characters and the like reach the database and came back as 500s. PostgreSQL's own verdict
(a DataError) is the one source of truth for "this value cannot be stored or compared", so it
is answered 400 with its sentence. A database that cannot be reached is answered 503 with
Retry-After (the process reconnects by itself; see docs/operations in docs/deploy.md).
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from litestar import MediaType, Request, Response

from web.errors import error_body, internal_error_handler

log = logging.getLogger(__name__)

UNAVAILABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    ConnectionError,
)


def _data_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # "invalid input for query argument $1: 2369101591434954 (value out of int32 range)"
    message = str(exc).split("\n", 1)[0][:300] or "a value cannot be used"
    return Response(
        error_body(400, f"a value in the request cannot be used: {message}", "invalid_input"),
        status_code=400,
        media_type=MediaType.JSON,
    )


def _unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning(
        "database unavailable on %s %s: %s", request.method, request.url.path, exc or type(exc)
    )
    return Response(
        error_body(503, "the database is unavailable; try again shortly", "unavailable"),
        status_code=503,
        media_type=MediaType.JSON,
        headers={"Retry-After": "5"},
    )


def _runtime_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Litestar (2.25) looks for the first file of a multipart body with next(); a body with no
    # file at all surfaces as "coroutine raised StopIteration". That is the client's input.
    multipart = request.headers.get("content-type", "").startswith("multipart/")
    if multipart and isinstance(exc.__cause__, StopIteration):
        return Response(
            error_body(400, "the multipart body has no file (field `data`)", "invalid_input"),
            status_code=400,
            media_type=MediaType.JSON,
        )
    return internal_error_handler(request, exc)


def input_handlers() -> dict[int | type[Exception], Any]:
    handlers: dict[int | type[Exception], Any] = {
        asyncpg.DataError: _data_error,
        RuntimeError: _runtime_error,
    }
    handlers.update(dict.fromkeys(UNAVAILABLE, _unavailable))
    return handlers
