import httpx

from hub.db.tables import Conversation, Inbox, Message
from hub.demo.seed import DEMO_LOGINS, load_demo


async def test_demo_is_realistic_and_idempotent(client: httpx.AsyncClient) -> None:
    assert await load_demo() is True
    counts = (await Inbox.count(), await Conversation.count(), await Message.count())
    channels = {row["channel"] for row in await Inbox.select(Inbox.channel)}
    assert {"email", "whatsapp_cloud", "telegram", "webchat", "api"} <= channels
    assert counts[1] >= 5 and counts[2] >= 15
    statuses = {row["status"] for row in await Conversation.select(Conversation.status)}
    assert {"open", "pending", "resolved", "snoozed"} <= statuses
    refs = [row["ref"] for row in await Conversation.select(Conversation.ref_number)]
    assert min(refs) >= 1000 and len(set(refs)) == len(refs)

    from hub.realtime.events import events_after

    history = await events_after(0, limit=100_000)  # the reports' back-dated weeks included
    created = [e for e in history if e.type == "message.created"]
    # Every demo message has its event; routing's worker may add assignment lines (kind
    # "event", with events of their own) at any moment, so they are not counted here.
    demo_messages = {
        r["id"] for r in await Message.raw("SELECT id FROM message WHERE kind <> 'event'")
    }
    assert demo_messages == {e.data["id"] for e in created if e.data["kind"] != "event"}
    assert all(e.data["text"] for e in created)

    assert await load_demo() is False
    assert (await Inbox.count(), await Conversation.count(), await Message.count()) == counts

    email, password = DEMO_LOGINS["agent"]
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200
    bell = await client.get("/api/v1/notifications", params={"unread": "true"})
    assert bell.json()["unread_count"] >= 2  # the demo agent's bell is not empty


async def test_demo_conversations_get_the_demo_sla(client: httpx.AsyncClient) -> None:
    """The demo's policy reaches its conversations through the live path: events, the SLA
    subscriber in the worker, the deadlines on the conversation."""
    from hub.db.engine import connection_pool
    from tests.conftest import eventually

    assert await load_demo() is True
    pool = connection_pool()
    open_count = await pool.fetchval(
        "SELECT count(*) FROM conversation WHERE status IN ('open', 'pending', 'snoozed')"
    )

    # The reports' back-dated weeks (hub/demo/history.py, contacts "Customer N") carry their SLA
    # outcomes in their events only; the live conversations must get the policy.
    live = (
        "SELECT count(*) FROM conversation c JOIN contact p ON p.id = c.contact"
        " WHERE p.name NOT LIKE 'Customer %'"
    )

    async def tracked() -> bool:
        n = await pool.fetchval(live + " AND c.sla_policy IS NOT NULL")
        return bool(n == await pool.fetchval(live))

    await eventually(tracked)
    outcomes = await pool.fetch(
        "SELECT first_response_status AS s FROM conversation WHERE first_response_status IS NOT NULL"
    )
    assert open_count > 0 and {r["s"] for r in outcomes} & {"met", "running", "paused", "breached"}
    resolved = await pool.fetch(
        "SELECT c.resolution_status FROM conversation c JOIN contact p ON p.id = c.contact"
        " WHERE p.name NOT LIKE 'Customer %' AND c.status = 'resolved'"
    )
    assert resolved and {r["resolution_status"] for r in resolved} <= {"met", "breached"}


async def test_demo_contacts_have_crm_customers(client: httpx.AsyncClient) -> None:
    from hub.crm.customers import card
    from hub.db.engine import connection_pool

    assert await load_demo() is True
    pool = connection_pool()
    cards = {}
    for row in await pool.fetch("SELECT id, name FROM contact ORDER BY id"):
        cards[row["name"]] = await card(row["id"])
    maria, jonas, peter = cards["Maria Jensen"], cards["Jonas Weber"], cards["Peter Hansen"]
    assert maria["customer"]["login"] == "mjensen"
    assert [i["overdue"] for i in maria["customer"]["invoices"]] == [True]
    # WhatsApp's E.164 meets Splynx's "+49 151 …"; Peter's local "20 12 34 56" reads as Danish.
    assert jonas["customer"]["status"] == "blocked"
    assert len(jonas["customer"]["invoices"]) == 2
    assert peter["customer"]["login"] == "phansen"
    assert maria["customer"]["source"]["demo"] is True
    assert cards["Ahmed Karimi"]["customer"] is None
    assert await load_demo() is False  # the demo CRM is not seeded twice
    assert await pool.fetchval("SELECT count(*) FROM crm_source") == 1


async def test_demo_supervisor_signs_in_with_two_factor(client: httpx.AsyncClient) -> None:
    import pyotp

    from hub.demo.seed import DEMO_TOTP_SECRETS

    assert await load_demo() is True
    email, password = DEMO_LOGINS["supervisor"]
    first = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert first.json()["two_factor_required"] is True
    code = pyotp.TOTP(DEMO_TOTP_SECRETS["supervisor"]).now()
    done = await client.post("/api/v1/auth/totp/verify", json={"code": code})
    assert done.status_code == 200, done.text
    assert done.json()["agent"]["role"] == "supervisor"


async def test_demo_shows_a_merged_pair_and_a_split_conversation(client: httpx.AsyncClient) -> None:
    from hub.db.engine import connection_pool

    assert await load_demo() is True
    pool = connection_pool()
    merged = await pool.fetchrow(
        "SELECT s.id, s.status, t.status AS target_status, t.id AS target FROM conversation s"
        " JOIN conversation t ON t.id = s.merged_into"
    )
    assert merged is not None and merged["status"] == "closed"
    assert merged["target_status"] == "open"  # reopened: the customer was still waiting
    texts = [
        r["text"]
        for r in await pool.fetch(
            "SELECT text FROM message WHERE conversation = $1 ORDER BY id", merged["target"]
        )
    ]
    assert "Still slow tonight, and now the TV box drops out too." in texts
    assert any("into this conversation" in t for t in texts)
    split = await pool.fetchrow(
        "SELECT id, (meta->>'split_from')::int AS source FROM conversation WHERE meta ? 'split_from'"
    )
    assert split is not None
    moved = await pool.fetchval(
        "SELECT count(*) FROM message WHERE conversation = $1 AND kind = 'message'", split["id"]
    )
    assert moved == 2


async def test_demo_rules_fire_on_demo_conversations(client: httpx.AsyncClient) -> None:
    """The demo's rules run on the demo's own events (VIP, overdue invoice → Billing) and its
    time rule closes the old resolved conversation, each with a line in the run log."""
    from hub.db.engine import connection_pool
    from tests.conftest import eventually, run_job

    assert await load_demo() is True
    pool = connection_pool()

    async def fired() -> list[str] | None:
        rows = await pool.fetch("SELECT rule_name FROM automation_run WHERE status = 'ok'")
        names = sorted(r["rule_name"] for r in rows)
        return names if len(names) >= 2 else None

    names = await eventually(fired, timeout=20)
    assert names == ["Overdue invoice → Billing", "VIP: Fiber 1000 customers first"]
    jonas = await pool.fetchrow(
        "SELECT c.priority, t.name FROM conversation c JOIN contact ct ON ct.id = c.contact"
        " JOIN team t ON t.id = c.team WHERE ct.name = 'Jonas Weber'"
    )
    assert jonas["priority"] == "urgent" and jonas["name"] == "Billing"
    await run_job("automation_time_rules")
    lena = await pool.fetchval(
        "SELECT c.status FROM conversation c JOIN contact ct ON ct.id = c.contact"
        " WHERE ct.name = 'Lena Novak'"
    )
    assert lena == "closed"


async def test_demo_has_shared_macros_and_a_webhook_log(client: httpx.AsyncClient) -> None:
    from hub.db.engine import connection_pool

    assert await load_demo() is True
    email, password = DEMO_LOGINS["agent"]
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200
    macros = (await client.get("/api/v1/macros")).json()
    # Alice is in the demo team: she sees the team's macro and everyone's.
    assert {m["name"] for m in macros} >= {"Greeting", "Overdue invoice reminder", "Router restart"}
    pool = connection_pool()
    maria = await pool.fetchval(
        "SELECT c.id FROM conversation c JOIN contact ct ON ct.id = c.contact"
        " WHERE ct.name = 'Maria Jensen' ORDER BY c.id LIMIT 1"
    )
    reminder = next(m for m in macros if m["name"] == "Overdue invoice reminder")
    csrf = login.json()["csrf_token"]
    preview = await client.post(
        f"/api/v1/macros/{reminder['id']}/preview",
        json={"conversation_id": maria},
        headers={"x-csrf-token": csrf},
    )
    assert preview.status_code == 200, preview.text
    assert "mjensen" in preview.json()["text"] and "Alice Agent" in preview.json()["text"]
    subscription = await pool.fetchrow("SELECT id, enabled FROM webhook_subscription")
    assert subscription["enabled"] is False
    statuses = await pool.fetch(
        "SELECT status FROM webhook_delivery WHERE subscription = $1", subscription["id"]
    )
    assert {r["status"] for r in statuses} == {"succeeded", "failed"}
