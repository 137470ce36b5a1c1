"""Browser fixtures: Debian's Chromium driven by Playwright's async API, in the tests' loop.

The app is served by `base_url` in this same event loop, so every browser action is awaited
(the sync API would block the loop and with it the server). Chromium comes from the system
(`apt-get install chromium`); Playwright's own browser download is never used.
Each test's final screen is saved under test-artifacts/ (not committed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    async_playwright,
    expect,
)

from hub.db.engine import connection_pool, engine
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM
from tests.conftest import admin_key, make_agent, make_api_inbox
from tests.fakes.callback import CallbackReceiver

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
AGENT_EMAIL = "alice@example.com"
AGENT_PASSWORD = "alice's good password"
DESKTOP: ViewportSize = {"width": 1366, "height": 820}


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set HUB_CHROMIUM)")
    browser = await playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    await browser.close()


@dataclass
class Problems:
    """Script errors and console errors (CSP violations among them) seen during a test."""

    items: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)  # substrings a test expects

    def unexpected(self) -> list[str]:
        return [p for p in self.items if not any(a in p for a in self.allowed)]


@pytest.fixture
async def context(browser: Browser, base_url: str) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport=DESKTOP, base_url=base_url)
    context.set_default_timeout(10_000)
    yield context
    await context.close()


@pytest.fixture
async def problems() -> Problems:
    return Problems()


@pytest.fixture
async def page(
    context: BrowserContext, problems: Problems, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    page = await context.new_page()
    page.on("pageerror", lambda error: problems.items.append(f"pageerror: {error}"))

    def console(message: Any) -> None:
        if message.type == "error":
            problems.items.append(f"console: {message.text}")

    page.on("console", console)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    if not page.is_closed():
        await page.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=False)
    assert not problems.unexpected(), problems.unexpected()


@dataclass
class Desk:
    """A support desk to test against: an API inbox whose replies go to a fake integration."""

    client: httpx.AsyncClient
    headers: dict[str, str]  # an admin's API key
    inbox: dict[str, Any]
    receiver: CallbackReceiver
    agent_id: int
    serial: int = 0

    async def customer_writes(
        self, text: str, *, name: str, address: str, subject: str = ""
    ) -> dict[str, Any]:
        """A message from a customer through the API channel; returns the Message."""
        self.serial += 1
        response = await self.client.post(
            f"/api/v1/inboxes/{self.inbox['id']}/messages",
            json={
                "external_id": f"msg-{self.serial}",
                "sender": {"kind": "email", "address": address, "name": name},
                "text": text,
                "subject": subject,
            },
            headers=self.headers,
        )
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    async def change(self, conversation_id: int, **changes: Any) -> dict[str, Any]:
        response = await self.client.patch(
            f"/api/v1/conversations/{conversation_id}", json=changes, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def conversation(self, conversation_id: int) -> dict[str, Any]:
        response = await self.client.get(
            f"/api/v1/conversations/{conversation_id}", headers=self.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def round_robin_team(self, max_open: int = 20) -> int:
        """A team "Support" of the desk's agent, assigning round robin, owning the inbox."""
        pool = connection_pool()
        team = int(
            await pool.fetchval(
                "INSERT INTO team (name, assignment, max_open) VALUES ('Support', 'round_robin', $1)"
                " RETURNING id",
                max_open,
            )
        )
        await pool.execute(
            "INSERT INTO team_member (team, agent) VALUES ($1, $2)", team, self.agent_id
        )
        await pool.execute("UPDATE inbox SET team = $2 WHERE id = $1", self.inbox["id"], team)
        return team


@pytest.fixture
async def desk(client: httpx.AsyncClient, callback_receiver: tuple[CallbackReceiver, str]) -> Desk:
    receiver, callback_url = callback_receiver
    receiver.secret = "callback secret for the browser tests"
    headers = await admin_key(client)
    inbox = await make_api_inbox(
        client, headers, callback_url=callback_url, callback_secret=receiver.secret
    )
    response = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"name": "Support form"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    agent_id = await make_agent(AGENT_EMAIL, AGENT_PASSWORD, role="agent")
    response = await client.put(
        f"/api/v1/inboxes/{inbox['id']}/members", json={"agent_ids": [agent_id]}, headers=headers
    )
    assert response.status_code == 200, response.text
    # Names as people have them (the screenshots in docs/ come from these tests).
    pool = engine().pool
    assert pool is not None
    await pool.execute("UPDATE agent SET name = 'Sam Carter' WHERE role = 'admin'")
    await pool.execute("UPDATE agent SET name = 'Alice Agent' WHERE id = $1", agent_id)
    return Desk(client, headers, inbox, receiver, agent_id)


async def sign_in(page: Page, email: str = AGENT_EMAIL, password: str = AGENT_PASSWORD) -> None:
    """Log in through the login form, as a person would."""
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/inbox")


async def live(page: Page) -> None:
    """Wait until the page's socket is connected (events after the render are then delivered)."""
    # An attribute check, not wait_for_function: the page's CSP forbids evaluating strings.
    await expect(page.locator("body")).to_have_attribute("data-live", "live")
