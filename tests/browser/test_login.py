"""Two-factor in Chromium: enrol on the profile page (QR code, confirm, recovery codes shown
once), then a login asks for the code after the password and lands in the inbox."""

from __future__ import annotations

import datetime as dt

import pyotp
from playwright.async_api import Page, expect

from hub.system import clock
from tests.browser.conftest import AGENT_EMAIL, AGENT_PASSWORD, Desk, Problems, sign_in


async def test_enrol_and_log_in_with_a_code(page: Page, desk: Desk, problems: Problems) -> None:
    problems.allowed.append("status of 401")  # the wrong code, answered 401 on purpose
    await sign_in(page)
    await page.get_by_role("link", name="Alice Agent").click()
    await page.wait_for_url("**/profile")
    await page.get_by_role("button", name="Set up two-factor").click()
    await expect(page.locator("#totp-qr svg")).to_be_visible()
    secret = (await page.locator("#totp-secret").text_content() or "").strip()
    assert len(secret) == 32
    await page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).at(clock.now()))
    await page.get_by_role("button", name="Turn on").click()
    await expect(page.locator("#recovery-codes li")).to_have_count(10)
    # The sessions list shows this browser's session.
    await expect(page.locator("#session-rows")).to_contain_text("this one")

    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_url("**/login")
    await page.get_by_label("Email").fill(AGENT_EMAIL)
    await page.get_by_label("Password").fill(AGENT_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    code_field = page.get_by_label("Code from your authenticator app")
    await expect(code_field).to_be_visible()
    # A wrong code is refused on the page, then the next step's code lets the agent in.
    await code_field.fill("000000")
    await page.get_by_role("button", name="Verify").click()
    await expect(page.locator("#code-error")).to_contain_text("not right")
    later = clock.now() + dt.timedelta(seconds=30)
    await code_field.fill(pyotp.TOTP(secret).at(later))
    await page.get_by_role("button", name="Verify").click()
    await page.wait_for_url("**/inbox")
