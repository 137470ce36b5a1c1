"""The OpenAPI document tells the truth about error answers.

Litestar documents a 400 answer of every handler with its own ValidationException shape
(`status_code`, `detail`, `extra`); the hub answers every error as `{"error": {"code", "message",
"details"}}` (web/errors.py). schemathesis flagged each such 400 as a schema violation, so the
error responses are rewritten to the shape the hub really sends.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Reference, Schema

ERROR = Schema(
    type=OpenAPIType.OBJECT,
    required=["error"],
    properties={
        "error": Schema(
            type=OpenAPIType.OBJECT,
            required=["code", "message"],
            properties={
                "code": Schema(type=OpenAPIType.STRING),
                "message": Schema(type=OpenAPIType.STRING),
                "details": Schema(),
            },
        )
    },
    description="Every error answer of the hub (web/errors.py).",
)


def document_errors(app: Litestar) -> None:
    """Build the app's OpenAPI document now and give every 4xx/5xx response the hub's shape."""
    openapi = app.openapi_schema  # built once and cached; this edits the cached document
    if openapi.components.schemas is None:
        openapi.components.schemas = {}
    openapi.components.schemas["HubError"] = ERROR
    ref = Reference(ref="#/components/schemas/HubError")
    for item in (openapi.paths or {}).values():
        for operation in (item.get, item.put, item.post, item.delete, item.patch):
            if operation is None or not operation.responses:
                continue
            for status, response in operation.responses.items():
                if status[:1] in ("4", "5") and not isinstance(response, Reference):
                    response.content = {"application/json": OpenAPIMediaType(schema=ref)}
