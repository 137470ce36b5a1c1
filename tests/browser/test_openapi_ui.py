"""The OpenAPI UI renders with nothing but the hub's own files (offline, under the page's CSP),
and every operation of the document is laid out.

Swagger UI (5.35) virtualizes the operations list once it has 150 rows or more (tag headings plus
operations, an operation counted once per tag): only the rows in or near the window are in the
DOM and the rest are mounted as the page scrolls. Our document passed that size with the merges
of 4 Dec (160 operations in 23 tags), so a single count of `.opblock` sees about a window's
worth. The test therefore scrolls the list to its end and checks that every operation of
/schema/openapi.json was rendered on the way, and that a deep link reaches the last row.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import httpx
from playwright.async_api import Page, Route, expect

from tests.browser.conftest import Problems

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Per row: its id (tag and operation id), method and path, read from the mounted `.opblock`s.
_ROWS_JS = """els => els.map(e => [
    e.id,
    e.querySelector('.opblock-summary-method').textContent.trim().toLowerCase(),
    e.querySelector('.opblock-summary-path').dataset.path,
])"""


def _operations(document: dict[str, Any]) -> tuple[set[tuple[str, str]], int]:
    """The document's (method, path) pairs and how many rows Swagger UI lays out for them."""
    pairs: set[tuple[str, str]] = set()
    rows = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in _METHODS:
                pairs.add((method, path))
                rows += len(operation.get("tags") or ["default"])  # untagged: under "default"
    return pairs, rows


async def test_swagger_ui_renders_every_operation_offline(
    page: Page, base_url: str, client: httpx.AsyncClient, problems: Problems
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    expected, expected_rows = _operations(document)
    assert len(expected) > 100  # the whole API, not an empty or truncated document

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
    await expect(page.locator(".information-container .title")).to_contain_text("Hub API")
    blocks = page.locator(".opblock")
    await expect(blocks.first).to_be_visible(timeout=15_000)

    seen: dict[str, tuple[str, str]] = {}
    # Each pass brings at least one new row into the DOM, so the rows bound the passes.
    for _ in range(expected_rows + 1):
        for row_id, method, path in await blocks.evaluate_all(_ROWS_JS):
            seen[row_id] = (method, path)
        if len(seen) >= expected_rows:
            break
        # The last mounted row to the top of the window: it stays mounted, so no row between
        # it and the next window's rows is skipped. The virtualizer mounts the following rows
        # on the scroll event; wait for them.
        last = await blocks.last.get_attribute("id") or ""
        await blocks.last.evaluate("e => e.scrollIntoView({block: 'start'})")
        try:
            await expect(blocks.last).not_to_have_id(last, timeout=5_000)
        except AssertionError:
            break  # nothing after it: the assertions below name what was never laid out

    missing = sorted(expected - set(seen.values()))
    assert missing == [], f"{len(missing)} operations never rendered: {missing}"
    assert set(seen.values()) == expected  # nothing the document does not have either
    assert len(seen) == expected_rows  # an operation with two tags is under both

    # A deep link to the last row mounts it even though it is far outside the first window.
    last_row = await blocks.last.get_attribute("id")
    href = await blocks.last.locator(".opblock-summary-path a").get_attribute("href")
    assert last_row and href and href.startswith("#/")
    await page.goto("about:blank")  # a fresh load of the page, not a same-document hash change
    await page.goto("/schema" + href)
    await expect(page.locator(f"[id='{last_row}']")).to_be_visible()

    assert foreign == []
    assert not problems.unexpected()
