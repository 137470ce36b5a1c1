"""A realistic demo data set: an ISP's support team with several channels and live conversations.

Loading is idempotent: a second run finds the demo inboxes and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any

from hub.auth import accounts
from hub.auth.permissions import Role
from hub.db.engine import engine
from hub.db.tables import (
    Contact,
    ContactIdentity,
    Conversation,
    ConversationTag,
    Event,
    Inbox,
    InboxMember,
    Message,
    Tag,
    Team,
    TeamMember,
)
from hub.demo.access import BILLING_LOGIN, seed_access, two_factor
from hub.demo.automation import mark_resolved_times, seed_demo_rules
from hub.demo.crm import seed_demo_crm
from hub.demo.csat import seed_demo_csat
from hub.demo.history import load_history
from hub.demo.macros import seed_macros_and_webhooks
from hub.demo.merge_split import merge_and_split
from hub.demo.teams import seed_teams
from hub.notifications import notify
from hub.notifications.kinds import Kind
from hub.sla.hours import DAY_NAMES
from hub.system.crypto import encrypt_json
from hub.system.services import current

DEMO_LOGINS: dict[str, tuple[str, str]] = {
    "admin": ("admin@example.com", "hub-demo-admin"),
    "agent": ("alice@example.com", "hub-demo-agent"),
    "billing specialist": BILLING_LOGIN,
    "supervisor": ("sam@example.com", "hub-demo-supervisor"),
}
# Sam signs in with two-factor: the login asks for a code from an authenticator app with this
# key (printed with the demo logins; `python -c "import pyotp; print(pyotp.TOTP(KEY).now())"`).
DEMO_TOTP_SECRETS: dict[str, str] = {"supervisor": "HUBDEMOSAMTWOFACTORKEYJBSWY3DPEH"}
_MARKER = "Support email (demo)"

INBOXES: list[tuple[str, str, dict[str, Any]]] = [
    (_MARKER, "email", {"address": "support@example.com"}),
    ("WhatsApp (demo)", "whatsapp_cloud", {"phone_number_id": "100000000000001"}),
    ("Telegram bot (demo)", "telegram", {"mode": "polling"}),
    ("Website chat (demo)", "webchat", {"allowed_origins": ["http://127.0.0.1:8000"]}),
    ("SMS gateway (demo)", "api", {"callback_url": ""}),
]


@dataclass(frozen=True)
class Line:
    who: str  # "c" customer, "a" agent, "n" note
    text: str
    minutes_ago: int


@dataclass(frozen=True)
class Story:
    inbox: int
    contact: str
    identity: tuple[str, str]
    subject: str
    status: str
    priority: str
    tags: tuple[str, ...]
    assignee: str | None
    lines: tuple[Line, ...]


STORIES = [
    Story(
        0,
        "Maria Jensen",
        ("email", "maria.jensen@example.net"),
        "Internet down since this morning",
        "open",
        "urgent",
        ("outage", "fiber"),
        "alice@example.com",
        (
            Line(
                "c", "Hi, our fiber connection has been down since 7am. The ONT light is red.", 190
            ),
            Line(
                "a",
                "Sorry to hear that, Maria. I see an outage in your area; a technician is on the way.",
                170,
            ),
            Line("n", "Outage ticket OUT-2231 covers Nørrebro; ETA 13:00.", 168),
            Line("c", "Thanks. Any idea when it will be back? I work from home.", 25),
        ),
    ),
    Story(
        1,
        "Jonas Weber",
        ("whatsapp", "+4915112345678"),
        "",
        "open",
        "high",
        ("billing",),
        None,
        (
            Line("c", "Hello, I was charged twice for November.", 55),
            Line("c", "Invoice 2024-1187 and 2024-1188, same amount.", 54),
        ),
    ),
    Story(
        2,
        "Ahmed Karimi",
        ("telegram", "81234567"),
        "",
        "pending",
        "medium",
        ("router",),
        "alice@example.com",
        (
            Line("c", "How do I change the WiFi password on the new router?", 600),
            Line(
                "a",
                "Open http://192.168.1.1, log in with the sticker password, then Wireless → Security.",
                590,
            ),
            Line("c", "It asks me for a username too", 580),
            Line("a", "The username is admin. Let me know if that works!", 575),
        ),
    ),
    Story(
        3,
        "Visitor 4821",
        ("webchat", "visitor-4821"),
        "",
        "open",
        "none",
        ("sales",),
        None,
        (Line("c", "Do you offer 1 Gbit/s in Aarhus C?", 8),),
    ),
    Story(
        0,
        "Lena Novak",
        ("email", "lena.novak@example.org"),
        "Upgrade to 500 Mbit/s",
        "resolved",
        "low",
        ("upgrade",),
        "admin@example.com",
        (
            Line("c", "I'd like to upgrade my plan to 500 Mbit/s from next month.", 3000),
            Line(
                "a",
                "Done! The new speed applies from the 1st. Your router will restart once that night.",
                2900,
            ),
            Line("c", "Perfect, thank you.", 2850),
        ),
    ),
    Story(
        4,
        "Peter Hansen",
        ("phone", "+4520123456"),
        "",
        "snoozed",
        "medium",
        ("callback",),
        "alice@example.com",
        (
            Line("c", "Please call me back about moving my connection to a new address.", 400),
            Line("n", "Customer moves on the 15th; call back on the 10th.", 395),
        ),
    ),
    # A customer who wrote twice about one problem (merged by load_demo), and one whose second
    # question deserves a conversation of its own (split by load_demo).
    Story(
        0,
        "Lena Holm",
        ("email", "lena.holm@example.org"),
        "Slow Wi-Fi in the evenings",
        "resolved",
        "medium",
        ("wifi",),
        "alice@example.com",
        (
            Line("c", "Our Wi-Fi is very slow every evening after 19:00.", 900),
            Line("a", "Could you run a speed test with a cable, to compare?", 880),
            Line("c", "By cable 480 Mbit/s, over Wi-Fi only 40.", 860),
        ),
    ),
    Story(
        0,
        "Lena Holm",
        ("email", "lena.holm@example.org"),
        "Still slow tonight",
        "open",
        "none",
        (),
        None,
        (
            Line("c", "Still slow tonight, and now the TV box drops out too.", 120),
            Line("c", "I attached a screenshot of the speed test.", 118),
        ),
    ),
    Story(
        4,
        "Peter Olsen",
        ("phone", "+4540112233"),
        "",
        "open",
        "none",
        (),
        "alice@example.com",
        (
            Line("c", "My router shows a red light since the storm.", 300),
            Line("a", "Please unplug it for 30 seconds and plug it back in.", 290),
            Line("c", "That fixed it, thanks!", 280),
            Line("c", "Another thing: I am moving on the 1st. How do I move my subscription?", 60),
            Line("c", "The new address is Vesterbrogade 12, 1620 København V.", 58),
        ),
    ),
]


async def load_demo() -> bool:
    """Create the demo agents, team, inboxes, contacts and conversations. False if present.

    The demo CRM (customers for the card) has a marker of its own, so a demo database made
    before it existed gets it too."""
    await seed_demo_crm()
    if await Inbox.exists().where(Inbox.name == _MARKER):
        return False
    secret = current().settings.secret_key
    admin = await accounts.create_agent(*DEMO_LOGINS["admin"], name="Ada Admin", role=Role.ADMIN)
    alice = await accounts.create_agent(*DEMO_LOGINS["agent"], name="Alice Agent", role=Role.AGENT)
    sam = await accounts.create_agent(
        *DEMO_LOGINS["supervisor"], name="Sam Supervisor", role=Role.SUPERVISOR
    )
    await two_factor(sam.id, sam.email, DEMO_TOTP_SECRETS["supervisor"], secret)
    agents = {admin.email: admin.id, alice.email: alice.id}
    now = dt.datetime.now(dt.UTC)
    await seed_demo_rules()  # before the conversations' events, so the rules run on them
    async with engine().transaction():
        team = (await Team.insert(Team(name="First line")).returning(Team.id))[0]["id"]
        await _sla_policy(team)
        # New conversations go round robin to the team's available agents (hub.routing).
        await Team.raw(
            "UPDATE team SET assignment = 'round_robin', max_open = 25 WHERE id = {}", team
        )
        await TeamMember.insert(TeamMember(team=team, agent=alice.id))
        inbox_ids: list[int] = []
        for name, channel, config in INBOXES:
            row = await Inbox.insert(
                Inbox(
                    name=name,
                    channel=channel,
                    config_encrypted=encrypt_json(secret, config),
                    public_token=secrets.token_urlsafe(18),
                    team=team,
                )
            ).returning(Inbox.id)
            inbox_ids.append(row[0]["id"])
            await InboxMember.insert(InboxMember(inbox=row[0]["id"], agent=alice.id))
        made = [await _story(story, inbox_ids, agents, team, now) for story in STORIES]
    await merge_and_split(first=made[-3], second=made[-2], chatty=made[-1], admin=admin)
    bianca = await seed_access(admin.id, inbox_ids)
    await seed_teams(team, bianca=bianca, sam=sam.id)
    # Past weeks for the reports (the rollup job picks their back-dated events up).
    await load_history(inbox_ids, [admin.id, alice.id], now)
    await seed_demo_csat(inbox_ids)
    await mark_resolved_times()
    await _notifications(alice.id)
    await seed_macros_and_webhooks(admin, team)
    return True


async def _notifications(alice: int) -> None:
    """A few unread notifications for the demo agent's bell (the subscriber adds the customer
    messages in her conversations as it reads the demo's events)."""
    rows = await Conversation.raw(
        "SELECT id, ref, subject FROM conversation WHERE status = 'open' ORDER BY id LIMIT 2"
    )
    if len(rows) < 2:
        return
    first, second = rows
    await notify(
        agent_ids=[alice],
        conversation_id=first["id"],
        kind=Kind.MENTION,
        title=f"Ada Admin mentioned you in #{first['ref']}",
        body="@Alice Agent could you call the customer back this afternoon?",
    )
    await notify(
        agent_ids=[alice],
        conversation_id=second["id"],
        kind=Kind.SLA_WARNING,
        title=f"SLA at risk on #{second['ref']}: first response",
        body=second["subject"] or "",
    )


async def _sla_policy(team: int) -> None:
    """Support hours in Berlin and a standard policy for the team: the SLA subscriber applies it
    to the demo conversations from their events, the same way as to live ones."""
    weekly = {day: [["07:00", "12:00"], ["12:30", "22:00"]] for day in DAY_NAMES[:5]}
    weekly.update({day: [["09:00", "17:00"]] for day in DAY_NAMES[5:]})
    holidays = [
        {"start": "2026-12-24", "end": "2026-12-26", "yearly": True, "name": "Christmas"},
        {"start": "2027-01-01", "end": "2027-01-01", "yearly": True, "name": "New Year"},
    ]
    targets = {
        "default": {"first_response": 60, "next_response": 120, "resolution": 1440},
        "high": {"first_response": 30, "next_response": 60, "resolution": 480},
        "urgent": {"first_response": 15, "next_response": 30, "resolution": 240},
    }
    await Team.raw(
        "WITH h AS (INSERT INTO business_hours (name, timezone, weekly, holidays)"
        " VALUES ('Support hours (Berlin)', 'Europe/Berlin', {}::jsonb, {}::jsonb) RETURNING id),"
        " p AS (INSERT INTO sla_policy (name, business_hours, targets)"
        " SELECT 'Standard support', h.id, {}::jsonb FROM h RETURNING id)"
        " UPDATE team SET sla_policy = (SELECT id FROM p) WHERE id = {}",
        json.dumps(weekly),
        json.dumps(holidays),
        json.dumps(targets),
        team,
    )


async def _story(
    story: Story, inbox_ids: list[int], agents: dict[str, int], team: int, now: dt.datetime
) -> int:
    inbox = inbox_ids[story.inbox]
    kind, address = story.identity
    known = await ContactIdentity.select(ContactIdentity.contact).where(
        (ContactIdentity.kind == kind) & (ContactIdentity.address == address)
    )
    if known:  # a second conversation of the same customer
        contact = known[0]["contact"]
    else:
        contact = (await Contact.insert(Contact(name=story.contact)).returning(Contact.id))[0]["id"]
        await ContactIdentity.insert(
            ContactIdentity(contact=contact, kind=kind, address=address, verified=True)
        )
    first = now - dt.timedelta(minutes=story.lines[0].minutes_ago)
    last = now - dt.timedelta(minutes=story.lines[-1].minutes_ago)
    inbound = [line for line in story.lines if line.who == "c"]
    assignee = agents.get(story.assignee) if story.assignee else None
    conversation = (
        await Conversation.insert(
            Conversation(
                inbox=inbox,
                contact=contact,
                status=story.status,
                priority=story.priority,
                subject=story.subject,
                assignee=assignee,
                team=team,
                created_at=first,
                updated_at=last,
                last_message_at=last,
                last_inbound_at=now - dt.timedelta(minutes=inbound[-1].minutes_ago)
                if inbound
                else None,
                unread_count=1 if story.lines[-1].who == "c" else 0,
                snoozed_until=now + dt.timedelta(days=2) if story.status == "snoozed" else None,
            )
        ).returning(Conversation.id)
    )[0]["id"]
    for n, line in enumerate(story.lines):
        at = now - dt.timedelta(minutes=line.minutes_ago)
        agent_line = line.who in ("a", "n")
        await Message.insert(
            Message(
                conversation=conversation,
                inbox=inbox,
                kind="note" if line.who == "n" else "message",
                direction=None if line.who == "n" else ("out" if agent_line else "in"),
                author_type="agent" if agent_line else "contact",
                author_id=(assignee or agents["admin@example.com"]) if agent_line else contact,
                text=line.text,
                status="sent" if line.who == "a" else "received",
                provider_message_id=f"demo-{conversation}-{n}",
                created_at=at,
                updated_at=at,
                sent_at=at if line.who == "a" else None,
            )
        )
    for tag in story.tags:
        await Tag.insert(Tag(name=tag)).on_conflict(target=Tag.name, action="DO NOTHING")
        tag_id = (await Tag.select(Tag.id).where(Tag.name == tag).first() or {})["id"]
        await ConversationTag.insert(ConversationTag(conversation=conversation, tag=tag_id))
    # The same event shapes the live pipeline produces, so a replaying client sees a real history.
    await Event.raw(
        "SELECT hub_emit(jsonb_build_array(jsonb_build_object('type', 'conversation.created',"
        " 'conversation', {}::int, 'inbox', {}::int, 'data', hub_conversation_json({}::int)))"
        " || coalesce((SELECT"
        " jsonb_agg(jsonb_build_object('type', 'message.created', 'conversation', conversation,"
        " 'inbox', inbox, 'data', hub_message_json(id)) ORDER BY id) FROM message"
        " WHERE conversation = {}::int), '[]'::jsonb), 'system', NULL)",
        conversation,
        inbox,
        conversation,
        conversation,
    )
    return int(conversation)
