"""The OpenAPI UI (/schema, /schema/swagger) from vendored Swagger UI files, no CDN, no inline script.

Litestar's own render plugins load their bundles from public CDNs and start them with an inline
`<script>`; the first leaves the page blank offline, the second would need `unsafe-inline` in the
Content-Security-Policy. This page loads the bundle from /static and a small start script that
reads the schema's address from a data attribute.
"""

from __future__ import annotations

import html
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

VENDOR = "vendor/swagger-ui"


class VendoredSwaggerPlugin(OpenAPIRenderPlugin):
    """Swagger UI served from web/static/vendor/swagger-ui."""

    def __init__(self) -> None:
        super().__init__(path=["/", "/swagger"], favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        from web.inbox.render import asset  # the same content-hashed URLs as the inbox

        title = html.escape(str(openapi_schema.get("info", {}).get("title", "API")))
        spec = html.escape(self.get_openapi_json_route(request))
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{asset(VENDOR + "/swagger-ui.css")}">
<script src="{asset(VENDOR + "/swagger-ui-bundle.js")}" defer></script>
<script src="{asset("openapi/start.js")}" defer></script>
</head><body><div id="swagger-ui" data-spec-url="{spec}"></div></body></html>
"""
        return page.encode()
