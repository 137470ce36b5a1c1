"""The OpenAPI UI renders with nothing but the hub's own files (offline, under the page's CSP)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.async_api import Page, Route, expect

from tests.browser.conftest import Problems


# Known defect (issue 20's note): since the merges of 4 Dec the vendored Swagger UI stops laying
# out operations after the 11th (POST /api/v1/auth/totp/enrol) with no error shown; the document
# itself is valid and schemathesis reads all of it. Strict: this fails once the page renders again.
@pytest.mark.xfail(strict=True, reason="Swagger UI stops after the 11th operation (issue 20)")
async def test_swagger_ui_renders_offline(page: Page, base_url: str, problems: Problems) -> None:
    own = urlparse(base_url).netloc
    foreign: list[str] = []

    async def offline(route: Route) -> None:
        if urlparse(route.request.url).netloc == own:
            await route.continue_()
        else:  # what a machine without internet access would see
            foreign.append(route.request.url)
            await route.abort()

    await page.route("**/*", offline)
    await page.goto("/schema")
    # The operations list comes from /schema/openapi.json, rendered by the vendored bundle.
    await expect(
        page.locator(".opblock-summary-path", has_text="/api/v1/conversations").first
    ).to_be_visible(timeout=15_000)
    await expect(page.locator(".information-container .title")).to_contain_text("Hub API")
    assert foreign == []
    assert not problems.unexpected()
