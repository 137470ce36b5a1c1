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

    history = await events_after(0, limit=1000)
    created = [e for e in history if e.type == "message.created"]
    assert len(created) == counts[2] and all(e.data["text"] for e in created)

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

    async def tracked() -> bool:
        n = await pool.fetchval("SELECT count(*) FROM conversation WHERE sla_policy IS NOT NULL")
        return bool(n == await pool.fetchval("SELECT count(*) FROM conversation"))

    await eventually(tracked)
    outcomes = await pool.fetch(
        "SELECT first_response_status AS s FROM conversation WHERE first_response_status IS NOT NULL"
    )
    assert open_count > 0 and {r["s"] for r in outcomes} & {"met", "running", "paused", "breached"}
    resolved = await pool.fetch(
        "SELECT resolution_status FROM conversation WHERE status = 'resolved'"
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
