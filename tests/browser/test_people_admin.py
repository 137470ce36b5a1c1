"""The agents admin page in Chromium: an admin invites an agent, builds a team around them and
gives them an inbox, all through the page; a supervisor without agents.manage gets no agent
forms, and the API refuses them too."""

from __future__ import annotations

import re

from playwright.async_api import Dialog, Locator, Page, expect

from hub.db.engine import connection_pool
from tests.browser.conftest import AGENT_PASSWORD, Desk, Problems, sign_in
from tests.conftest import make_agent

BOSS = "boss@example.com"


async def click_and_reload(page: Page, button: Locator) -> None:
    """A change that worked reloads the page: wait for it, or the next step races the reload."""
    async with page.expect_navigation():
        await button.click()


async def test_an_admin_invites_an_agent_builds_a_team_and_grants_an_inbox(
    page: Page, desk: Desk, problems: Problems
) -> None:
    problems.allowed.append("status of 422")  # the refusals the test provokes
    await make_agent(BOSS, AGENT_PASSWORD, role="admin")
    await sign_in(page, BOSS)
    await page.goto("/admin/agents")

    invite = page.locator("#invite-agent")
    await invite.get_by_label("Name").fill("Nora Newman")
    await invite.get_by_label("Email").fill("Nora@Example.com")
    await invite.get_by_label("Role").select_option("supervisor")
    await invite.get_by_role("button", name="Invite").click()
    link = page.get_by_label("Invitation link")
    await expect(link).to_have_value(re.compile(r"/set-password\?token=[\w-]{30,}$"))
    await expect(page.locator("#invite-result")).to_contain_text("nora@example.com")
    token = (await link.input_value()).rsplit("token=", 1)[1]

    # The same address again: the API's 422 is shown next to the form.
    await invite.get_by_label("Email").fill("nora@example.com")
    await invite.get_by_role("button", name="Invite").click()
    await expect(page.locator("#invite-agent-error")).to_contain_text("exists already")

    new_team = page.locator("#new-team")
    await new_team.get_by_label("Team name").fill("Escalations")
    await new_team.get_by_label("Assignment").select_option("least_loaded")
    await new_team.get_by_label("Capacity per agent").fill("6")
    await new_team.get_by_label("Unassign on away").uncheck()
    await click_and_reload(page, new_team.get_by_role("button", name="Create team"))
    team = page.get_by_role("region", name="Escalations")
    await expect(team.get_by_label("Assignment")).to_have_value("least_loaded")

    await team.get_by_label("Agent to add to Escalations").select_option(label="Nora Newman")
    await team.get_by_label("Capacity of the new member of Escalations").fill("4")
    await click_and_reload(page, team.get_by_role("button", name="Add to Escalations"))
    capacity = page.get_by_label("Capacity of Nora Newman in Escalations", exact=True)
    await expect(capacity).to_have_value("4")
    await team.get_by_label("Agent to add to Escalations").select_option(label="Alice Agent")
    await click_and_reload(page, team.get_by_role("button", name="Add to Escalations"))
    await expect(
        page.get_by_label("Capacity of Alice Agent in Escalations", exact=True)
    ).to_have_value("")

    # A capacity the API refuses: its message appears beside the team's members.
    await capacity.fill("20000")
    await capacity.evaluate("input => input.removeAttribute('max')")
    await page.get_by_role("button", name="Save capacity of Nora Newman in Escalations").click()
    await expect(team.locator("[data-error-for^=members]")).to_contain_text("max_open")

    await page.get_by_label("Nora Newman may work in Support form").check()
    await click_and_reload(
        page, page.get_by_role("button", name="Save inbox access of Nora Newman")
    )
    await expect(page.get_by_label("Nora Newman may work in Support form")).to_be_checked()

    # Renamed and made an agent, then deactivated after the confirmation.
    await page.get_by_label("Name of Nora Newman").fill("Nora Jones")
    await page.get_by_label("Role of Nora Newman").select_option("agent")
    form = page.locator("form.agent-form", has=page.get_by_label("Name of Nora Newman"))
    await click_and_reload(page, form.get_by_role("button", name="Save"))
    await expect(page.get_by_label("Role of Nora Jones")).to_have_value("agent")
    questions: list[str] = []

    async def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        await dialog.accept()

    page.once("dialog", accept)
    await click_and_reload(page, page.get_by_role("button", name="Deactivate Nora Jones"))
    await expect(page.get_by_role("button", name="Reactivate Nora Jones")).to_be_visible()
    assert questions and "logged out everywhere" in questions[0]

    # Everything is in the API afterwards.
    agents = await desk.client.get("/api/v1/routing/workload", headers=desk.headers)
    assert all(a["name"] != "Nora Jones" for a in agents.json())  # deactivated
    pool = connection_pool()
    nora = await pool.fetchval("SELECT id FROM agent WHERE email = 'nora@example.com'")
    agent = (await desk.client.get(f"/api/v1/agents/{nora}", headers=desk.headers)).json()
    assert (agent["name"], agent["role"], agent["active"]) == ("Nora Jones", "agent", False)
    teams = (await desk.client.get("/api/v1/teams", headers=desk.headers)).json()
    escalations = next(t for t in teams if t["name"] == "Escalations")
    assert escalations["assignment"] == "least_loaded" and escalations["max_open"] == 6
    assert escalations["unassign_on_away"] is False
    assert escalations["member_ids"] == sorted([nora, desk.agent_id])
    assert (
        await pool.fetchval(
            "SELECT max_open FROM team_member WHERE team = $1 AND agent = $2",
            escalations["id"],
            nora,
        )
        == 4
    )
    assert await pool.fetchval(
        "SELECT true FROM inbox_member WHERE inbox = $1 AND agent = $2", desk.inbox["id"], nora
    )
    # Alice's own inbox access was kept when Nora's was added.
    assert await pool.fetchval(
        "SELECT true FROM inbox_member WHERE inbox = $1 AND agent = $2",
        desk.inbox["id"],
        desk.agent_id,
    )
    # The link was the real one: it sets a password once (refused for a deactivated agent).
    used = await desk.client.post(
        "/api/v1/auth/set-password", json={"token": token, "password": "Nora's long passphrase"}
    )
    assert used.status_code == 422 and "deactivated" in used.text


async def test_a_supervisor_sees_no_agent_forms_and_the_api_refuses(page: Page, desk: Desk) -> None:
    pool = connection_pool()
    await pool.execute("INSERT INTO team (name) VALUES ('Support')")
    await make_agent("sue@example.com", AGENT_PASSWORD, role="supervisor")
    await sign_in(page, "sue@example.com")
    await page.goto("/admin/agents")
    await expect(page.get_by_role("heading", name="Everyone")).to_be_visible()
    await expect(page.locator("#invite-agent")).to_have_count(0)
    await expect(page.get_by_label("Role of Alice Agent")).to_have_count(0)
    await expect(page.get_by_label("Alice Agent may work in Support form")).to_have_count(0)
    # Teams are theirs to manage (teams.manage).
    await expect(
        page.get_by_role("region", name="Support").get_by_label("Assignment")
    ).to_be_visible()

    csrf = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf
    refused = await page.request.post(
        "/api/v1/agents",
        data={"email": "mallory@example.com", "role": "admin"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status == 403
    change = await page.request.patch(
        f"/api/v1/agents/{desk.agent_id}", data={"active": False}, headers={"X-CSRF-Token": csrf}
    )
    assert change.status == 403
    assert await pool.fetchval("SELECT active FROM agent WHERE id = $1", desk.agent_id)
    assert not await pool.fetchval("SELECT true FROM agent WHERE email = 'mallory@example.com'")
