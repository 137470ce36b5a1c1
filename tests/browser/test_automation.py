"""The automation page in Chromium: a supervisor builds a rule with the form (no JSON), it fires
on a customer's message, the run log shows it, and the rule is switched off from the list."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import Desk, Problems, sign_in
from tests.conftest import eventually, make_agent

EMAIL, PASSWORD = "sue@example.com", "sue's good password"


async def test_building_a_rule_with_the_form(page: Page, desk: Desk) -> None:
    await make_agent(EMAIL, PASSWORD, role="supervisor")
    await sign_in(page, EMAIL, PASSWORD)
    await page.get_by_role("link", name="Automation").click()
    await expect(page.get_by_role("heading", name="Automation rules")).to_be_visible()
    await page.get_by_label("Name", exact=True).fill("Refunds first")
    await page.get_by_label("When", exact=True).select_option("message.created")
    await page.get_by_role("button", name="Add condition").click()
    await page.get_by_label("Field").select_option("message.text")
    await page.get_by_label("Operator").select_option("contains")
    await page.get_by_label("Value", exact=True).fill("refund")
    await page.get_by_role("button", name="Add action").click()
    await page.get_by_label("Action", exact=True).select_option("set_priority")
    await page.get_by_label("Action value").fill("urgent")
    await page.get_by_role("button", name="Create rule").click()
    row = page.locator("#rule-rows tr", has_text="Refunds first")
    await expect(row).to_contain_text("set priority to urgent")

    message = await desk.customer_writes(
        "Please refund my last invoice", name="Jonas Weber", address="jonas@example.com"
    )
    cid = int(message["conversation_id"])

    async def urgent() -> bool:
        return (await desk.conversation(cid))["priority"] == "urgent"

    await eventually(urgent, timeout=20)
    await page.reload()
    await expect(page.locator("#runs")).to_contain_text("Refunds first")
    await expect(page.locator("#runs")).to_contain_text("set priority to urgent")

    await row.get_by_label("Enable Refunds first").uncheck()
    await expect(page.locator("#toast")).to_contain_text("Rule disabled")
    rules = (await desk.client.get("/api/v1/automation-rules", headers=desk.headers)).json()
    assert [r["enabled"] for r in rules] == [False]


async def test_a_bad_value_shows_the_path(page: Page, desk: Desk, problems: Problems) -> None:
    problems.allowed.append("422 (Unprocessable Entity)")  # the refusal this test asks for
    await make_agent(EMAIL, PASSWORD, role="supervisor")
    await sign_in(page, EMAIL, PASSWORD)
    await page.goto("/admin/automation")
    await page.get_by_label("Name", exact=True).fill("Broken")
    await page.get_by_role("button", name="Add condition").click()
    await page.get_by_label("Field").select_option("crm.overdue_amount")
    await page.get_by_role("button", name="Add action").click()
    await page.get_by_label("Action", exact=True).select_option("mark_spam")
    await page.get_by_role("button", name="Create rule").click()  # the value left empty
    await expect(page.locator("#new-rule-error")).to_contain_text("conditions.all[0].value")
