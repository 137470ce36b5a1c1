"""The agent inbox in Chromium: what an agent does, checked on the screen the agent sees."""

from __future__ import annotations

import asyncio
import re
import struct
import zlib

from playwright.async_api import FilePayload, Page, WebSocketRoute, expect

from hub.db.engine import engine
from tests.browser.conftest import (
    AGENT_EMAIL,
    AGENT_PASSWORD,
    ARTIFACTS,
    Desk,
    Problems,
    live,
    sign_in,
)
from tests.conftest import eventually, make_agent

SLOW = 15_000  # ms: a reply goes through the queue, a worker and the fake integration


async def _two_customers(desk: Desk) -> tuple[int, int]:
    """Maria writes first, then Jonas: Jonas's conversation is on top."""
    maria = await desk.customer_writes(
        "Hi, our fiber connection has been down since 7am. The ONT light is red.",
        name="Maria Jensen",
        address="maria.jensen@example.net",
        subject="Internet down since this morning",
    )
    jonas = await desk.customer_writes(
        "Hello, I was charged twice for November: invoices 2024-1187 and 2024-1188.",
        name="Jonas Weber",
        address="jonas.weber@example.com",
        subject="Charged twice",
    )
    return int(maria["conversation_id"]), int(jonas["conversation_id"])


async def _busy_desk(desk: Desk) -> tuple[int, int]:
    """A desk in mid-morning, for the screenshots: a reply, a note, tags and priorities."""
    maria, jonas = await _two_customers(desk)
    api = desk.client
    await desk.change(maria, priority="urgent", assignee_id=desk.agent_id)
    await api.post(
        f"/api/v1/conversations/{maria}/tags",
        json={"tags": ["outage", "fiber"]},
        headers=desk.headers,
    )
    await api.post(
        f"/api/v1/conversations/{maria}/messages",
        json={
            "text": "Sorry to hear that, Maria. There is an outage in your area; a technician is on the way."
        },
        headers=desk.headers,
    )
    await api.post(
        f"/api/v1/conversations/{maria}/messages",
        json={"text": "Outage ticket OUT-2231 covers Nørrebro; ETA 13:00.", "private": True},
        headers=desk.headers,
    )
    await desk.change(jonas, priority="high")
    await api.post(
        f"/api/v1/conversations/{jonas}/tags", json={"tags": ["billing"]}, headers=desk.headers
    )
    await desk.customer_writes(
        "How do I change the WiFi password on the new router?",
        name="Ahmed Karimi",
        address="ahmed.karimi@example.org",
    )
    await desk.customer_writes(
        "Do you offer 1 Gbit/s in Aarhus C?", name="Visitor 4821", address="v4821@example.com"
    )
    await desk.customer_writes(
        "Thanks. Any idea when it will be back? I work from home.",
        name="Maria Jensen",
        address="maria.jensen@example.net",
    )
    return maria, jonas


async def test_log_in_and_out(page: Page, desk: Desk, problems: Problems) -> None:
    maria, _ = await _busy_desk(desk)
    problems.allowed.append("401")  # the failed login attempt is a 401 by design
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login$"))
    await page.get_by_label("Email").fill(AGENT_EMAIL)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_have_text("wrong email or password")

    await page.get_by_label("Password").fill(AGENT_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/inbox")
    rows = page.locator("#rows li.row")
    await expect(rows).to_have_count(4)
    await expect(rows.first).to_contain_text("Maria Jensen")
    await expect(page.locator("#views")).to_contain_text("Mine 1")
    await live(page)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "inbox.png")

    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_url("**/login")
    await page.goto(f"/inbox/conversations/{maria}")
    await expect(page).to_have_url(re.compile(rf"/login\?next=%2Finbox%2Fconversations%2F{maria}$"))


async def test_open_a_conversation(page: Page, desk: Desk) -> None:
    maria, _ = await _busy_desk(desk)
    await sign_in(page)
    await page.get_by_role("link", name=re.compile("Maria Jensen")).click()
    await page.wait_for_url(f"**/inbox/conversations/{maria}")
    header = page.locator("#conversation-header")
    await expect(header.get_by_role("heading", level=1)).to_contain_text("Maria Jensen")
    await expect(header).to_contain_text("Internet down since this morning")
    first = page.locator("#timeline-items li.tl-in").first
    await expect(first).to_contain_text("The ONT light is red.")
    events = page.locator("#timeline-items li.tl-event", has_text="set priority to urgent")
    await expect(events).to_have_count(1)
    await expect(page.locator("#timeline-items li.tl-note")).to_contain_text("OUT-2231")
    contact = page.locator("#contact")
    await expect(contact).to_contain_text("maria.jensen@example.net")
    await expect(contact.locator("#crm-card")).to_contain_text("No CRM is connected")
    await expect(page.locator("#rows li.row.current")).to_contain_text("Maria Jensen")
    # The customer's message is on the left, the composer below, the row marked read.
    box = await first.bounding_box()
    timeline = await page.locator("#timeline").bounding_box()
    assert box is not None and timeline is not None
    assert box["x"] - timeline["x"] < 40
    await eventually(lambda: _unread_is(desk, maria, 0))
    await live(page)
    await page.screenshot(path=ARTIFACTS / "conversation.png")


async def _unread_is(desk: Desk, conversation_id: int, count: int) -> bool:
    return (await desk.conversation(conversation_id))["unread_count"] == count


async def test_reply_moves_from_pending_to_sent(page: Page, desk: Desk) -> None:
    maria, _ = await _two_customers(desk)
    # The integration answers 503 once, then holds its answer until the test has seen the reply
    # pending: the retry (2 s later) must not race the check on a slow machine.
    desk.receiver.fail_next = [503]
    desk.receiver.hold = asyncio.Event()
    await sign_in(page)
    await page.goto(f"/inbox/conversations/{maria}")
    await live(page)
    composer = page.get_by_label("Your message")
    await expect(page.locator("#composer-limits")).to_contain_text("Up to 65,536 characters")
    await composer.fill("Sorry to hear that, Maria. A technician is on the way.")
    await composer.press("Control+Enter")

    reply = page.locator("#timeline-items li.tl-out").last
    await expect(reply).to_contain_text("A technician is on the way.")
    await expect(reply.locator(".status")).to_have_text(re.compile("pending|sending"))
    desk.receiver.hold.set()
    await expect(reply.locator(".status")).to_have_text("sent", timeout=SLOW)
    await expect(composer).to_have_value("")
    delivered = [p["message"]["text"] for p in desk.receiver.stored.values()]
    assert delivered == ["Sorry to hear that, Maria. A technician is on the way."]
    # On the right: an agent's reply.
    box = await reply.bounding_box()
    timeline = await page.locator("#timeline").bounding_box()
    assert box is not None and timeline is not None
    assert box["x"] + box["width"] > timeline["x"] + timeline["width"] - 40

    # A refused reply shows why, and the agent can send it again.
    desk.receiver.fail_next = [400]
    await composer.fill("Could you restart the ONT?")
    await page.get_by_role("button", name="Send").click()
    failed = page.locator("#timeline-items li.tl-out", has_text="Could you restart the ONT?")
    await expect(failed.locator(".status")).to_have_text("failed", timeout=SLOW)
    await expect(failed.locator(".error")).to_contain_text("400")
    await failed.get_by_role("button", name="Retry").click()
    await expect(failed.locator(".status")).to_have_text("sent", timeout=SLOW)
    assert len(desk.receiver.stored) == 2


def _png() -> bytes:
    """A 2x2 red PNG."""
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def test_post_a_note(page: Page, desk: Desk) -> None:
    maria, _ = await _two_customers(desk)
    await sign_in(page)
    await page.goto(f"/inbox/conversations/{maria}")
    await page.get_by_label("Private note").check()
    await page.get_by_label("Your message").fill("Outage ticket OUT-2231 covers her street.")
    await page.locator("#composer-files").set_input_files(
        files=[FilePayload(name="ont-light.png", mimeType="image/png", buffer=_png())]
    )
    await page.get_by_role("button", name="Add note").click()
    note = page.locator("#timeline-items li.tl-note")
    await expect(note).to_contain_text("Outage ticket OUT-2231 covers her street.")
    await expect(note).to_contain_text("Private note")
    await expect(note.locator(".status")).to_have_count(0)  # notes are never sent
    preview = note.locator("img")  # a preview beside the (one) link to the file
    await expect(preview).to_be_visible()
    assert await preview.evaluate("img => img.naturalWidth") == 2
    await expect(note.get_by_role("link", name="ont-light.png")).to_have_attribute(
        "href", re.compile(r"^/api/v1/attachments/\d+$")
    )
    messages = await desk.client.get(
        f"/api/v1/conversations/{maria}/messages", headers=desk.headers
    )
    kinds = [(m["kind"], m["status"]) for m in messages.json()["items"]]
    assert ("note", "received") in kinds
    assert desk.receiver.received == []


async def test_inbound_message_appears_live_and_the_list_resorts(page: Page, desk: Desk) -> None:
    maria, jonas = await _two_customers(desk)
    await sign_in(page)
    await page.goto(f"/inbox/conversations/{maria}")
    await live(page)
    rows = page.locator("#rows li.row")
    await expect(rows.first).to_contain_text("Jonas Weber")
    await page.evaluate("window.__sameDocument = true")

    await desk.customer_writes(
        "Any idea when it will be back? I work from home.",
        name="Maria Jensen",
        address="maria.jensen@example.net",
    )
    timeline = page.locator("#timeline-items")
    await expect(timeline.locator("li.tl-in").last).to_contain_text("I work from home.")
    await expect(rows.first).to_contain_text("Maria Jensen")
    await expect(rows.nth(1)).to_contain_text("Jonas Weber")

    # A colleague assigns the conversation: the header shows it without a reload.
    await desk.change(maria, assignee_id=desk.agent_id)
    await expect(page.locator("#conversation-header").get_by_label("Assignee")).to_have_value(
        str(desk.agent_id)
    )
    await expect(timeline.locator("li.tl-event").last).to_contain_text("assigned the conversation")
    assert await page.evaluate("window.__sameDocument") is True
    assert jonas != maria


async def test_filter_by_status_and_search(page: Page, desk: Desk) -> None:
    maria, jonas = await _two_customers(desk)
    squirrel = await desk.customer_writes(
        "A squirrel chewed through the cable in our garden.",
        name="Ahmed Karimi",
        address="ahmed@example.org",
    )
    await desk.change(jonas, status="resolved")
    await sign_in(page)
    rows = page.locator("#rows li.row")
    await expect(rows).to_have_count(2)  # open conversations by default

    await page.get_by_label("Status").select_option("resolved")
    await page.wait_for_url(re.compile(r"status=resolved"))
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Jonas Weber")

    await page.get_by_label("Status").select_option("all")
    await expect(rows).to_have_count(3)
    search = page.get_by_label("Search conversations")
    await search.fill("squirrel")
    await search.press("Enter")
    await page.wait_for_url(re.compile(r"q=squirrel"))
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Ahmed Karimi")
    await expect(rows.first.get_by_role("link")).to_have_attribute(
        "href", re.compile(rf"/inbox/conversations/{squirrel['conversation_id']}\?")
    )
    assert maria


async def test_resolve(page: Page, desk: Desk) -> None:
    maria, _ = await _two_customers(desk)
    await sign_in(page)
    await page.goto(f"/inbox/conversations/{maria}")
    await page.get_by_role("button", name="Resolve").click()
    await expect(page.locator("#conversation-status")).to_have_text("Resolved")
    await expect(page.locator("#timeline-items li.tl-event").last).to_contain_text(
        "resolved the conversation"
    )
    assert (await desk.conversation(maria))["status"] == "resolved"
    # The list (open conversations) drops it.
    await expect(page.locator("#rows li.row", has_text="Maria Jensen")).to_have_count(0)
    await page.get_by_role("button", name="Reopen").click()
    await expect(page.locator("#conversation-status")).to_have_text("Open")


async def test_keyboard_shortcuts(page: Page, desk: Desk) -> None:
    maria, jonas = await _two_customers(desk)
    await sign_in(page)
    rows = page.locator("#rows li.row")
    await page.keyboard.press("j")
    await expect(rows.nth(0)).to_have_class(re.compile(r"\bselected\b"))
    await page.keyboard.press("j")
    await expect(rows.nth(1)).to_have_class(re.compile(r"\bselected\b"))
    await page.keyboard.press("k")
    await expect(rows.nth(0)).to_have_class(re.compile(r"\bselected\b"))
    await page.locator("body").click(position={"x": 900, "y": 400})  # focus off the list
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/inbox/conversations/{jonas}")

    composer = page.get_by_label("Your message")
    await page.keyboard.press("r")
    await expect(composer).to_be_focused()
    await expect(page.get_by_label("Reply", exact=True)).to_be_checked()
    await page.keyboard.press("Escape")
    await page.keyboard.press("n")
    await expect(composer).to_be_focused()
    await expect(page.get_by_label("Private note")).to_be_checked()
    await page.keyboard.press("Escape")

    await page.keyboard.press("e")
    await expect(page.locator("#conversation-status")).to_have_text("Resolved")
    await page.keyboard.press("a")
    await expect(page.locator("#conversation-header").get_by_label("Assignee")).to_be_focused()
    await page.keyboard.press("Escape")
    # Leave the assignee control for good (a closing <select> can keep focus for a moment; keys
    # typed into a form control are not shortcuts).
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.locator("#timeline").focus()
    await expect(page.locator("#conversation-header").get_by_label("Assignee")).not_to_be_focused()
    await page.keyboard.press("/")

    await expect(page.get_by_label("Search conversations")).to_be_focused()
    await page.keyboard.press("Escape")
    await page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    assert (await desk.conversation(jonas))["status"] == "resolved"
    assert maria


async def test_works_at_390_px_in_one_column(page: Page, desk: Desk) -> None:
    maria, _ = await _busy_desk(desk)
    await page.set_viewport_size({"width": 390, "height": 844})
    await sign_in(page)

    async def no_sideways_scroll() -> None:
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width

    list_box = await page.locator("section.list").bounding_box()
    assert list_box is not None and list_box["width"] >= 380
    await expect(page.locator("#main")).to_be_hidden()
    await expect(page.locator("#views")).not_to_be_in_viewport()
    await no_sideways_scroll()
    await page.get_by_role("button", name="Views").click()
    await expect(page.locator("#views")).to_be_in_viewport()
    await page.get_by_role("button", name="Views").click()

    await page.locator("#rows li.row", has_text="Maria Jensen").click()
    await page.wait_for_url(f"**/inbox/conversations/{maria}")
    await expect(page.locator("section.list")).to_be_hidden()
    main = await page.locator("#main").bounding_box()
    assert main is not None and main["width"] >= 380
    await expect(page.get_by_label("Your message")).to_be_visible()
    await expect(page.get_by_role("link", name="Back to the list")).to_be_visible()
    await no_sideways_scroll()
    await live(page)
    await page.screenshot(path=ARTIFACTS / "mobile.png")
    await page.get_by_role("button", name="Contact").click()
    await expect(page.locator("#contact")).to_be_in_viewport()


async def test_session_expiry_keeps_the_draft(page: Page, desk: Desk, problems: Problems) -> None:
    maria, _ = await _two_customers(desk)
    problems.allowed.append("401")
    await sign_in(page)
    await page.goto(f"/inbox/conversations/{maria}")
    await page.get_by_label("Your message").fill("Half a reply that must not be lost")
    pool = engine().pool
    assert pool is not None
    await pool.execute("DELETE FROM agent_session")  # the session ends (expiry, logout elsewhere)

    await page.get_by_role("button", name="Resolve").click()
    await page.wait_for_url(re.compile(rf"/login\?next=%2Finbox%2Fconversations%2F{maria}$"))
    await page.get_by_label("Email").fill(AGENT_EMAIL)
    await page.get_by_label("Password").fill(AGENT_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"**/inbox/conversations/{maria}")
    await expect(page.get_by_label("Your message")).to_have_value(
        "Half a reply that must not be lost"
    )


async def test_a_dropped_connection_shows_reconnecting_and_resumes(page: Page, desk: Desk) -> None:
    maria, _ = await _two_customers(desk)
    up = asyncio.Event()
    up.set()
    sockets: list[tuple[WebSocketRoute, WebSocketRoute]] = []

    async def network(ws: WebSocketRoute) -> None:
        if not up.is_set():
            await ws.close(code=1011, reason="server unreachable")
            return
        sockets.append((ws, ws.connect_to_server()))

    await page.route_web_socket(re.compile(r"/ws/agent$"), network)
    await sign_in(page)
    await page.goto(f"/inbox/conversations/{maria}")
    await live(page)

    up.clear()
    client_side, server_side = sockets[-1]
    await server_side.close()
    await client_side.close(code=1011, reason="connection lost")
    banner = page.locator("#live-status")
    await expect(banner).to_be_visible()
    await expect(banner).to_have_text("Reconnecting…")
    await desk.customer_writes(
        "Written while your connection was down.",
        name="Maria Jensen",
        address="maria.jensen@example.net",
    )
    up.set()
    timeline = page.locator("#timeline-items")
    await expect(timeline.locator("li.tl-in").last).to_contain_text(
        "Written while your connection was down.", timeout=SLOW
    )
    await expect(banner).to_be_hidden()
    await expect(page.locator("#rows li.row").first).to_contain_text("Maria Jensen")


async def test_admin_creates_an_api_inbox_and_an_api_key(page: Page, desk: Desk) -> None:
    await make_agent("ada@example.com", "ada's admin password", role="admin")
    await sign_in(page, "ada@example.com", "ada's admin password")
    await page.get_by_role("link", name="Inboxes").click()
    await expect(page.get_by_role("heading", name="Inboxes", level=1)).to_be_visible()
    await expect(page.locator("#inbox-rows")).to_contain_text("Support form")

    await page.get_by_label("Name").fill("SMS gateway")
    await page.get_by_label("Callback URL").fill("https://sms.example.com/hub")
    await page.get_by_role("button", name="Create inbox").click()
    shown = page.locator("#new-inbox-result")
    await expect(shown).to_be_visible()
    await expect(shown).to_contain_text("shown once")
    secret = await shown.locator("[data-field=secret]").text_content()
    assert secret and len(secret) >= 32
    await expect(page.locator("#inbox-rows")).to_contain_text("SMS gateway")
    await page.reload()
    await expect(page.locator("#inbox-rows")).to_contain_text("callback_secret")
    assert secret not in await page.content()  # write-only from now on

    await page.get_by_role("link", name="API keys").click()
    await page.get_by_label("Name").fill("billing sync")
    await page.get_by_role("button", name="Create key").click()
    await expect(page.locator("#new-key-result")).to_be_visible()
    key = await page.locator("#new-key-value").text_content()
    assert key and key.startswith("hub_")
    me = await desk.client.get("/api/v1/auth/me", headers={"authorization": f"Bearer {key}"})
    assert me.json()["agent"]["email"] == "ada@example.com"
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.get_by_role("button", name="Revoke billing sync").click()
    await expect(page.locator("#key-rows")).not_to_contain_text("billing sync")
    me = await desk.client.get("/api/v1/auth/me", headers={"authorization": f"Bearer {key}"})
    assert me.status_code == 401
