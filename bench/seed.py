#!/usr/bin/env python
"""Load a large, realistic data set into a bench database with COPY.

    python bench/seed.py [--dsn postgresql://postgres@127.0.0.1:5432/hub_bench]
                         [--conversations 1000000] [--messages-per 5] [--fresh] [--seed 42]

An ISP's support desk: 5 agents, 3 teams, 6 inboxes (two email addresses, WhatsApp, Telegram,
website chat and an SMS gateway), ~300k contacts with one identity each, 1,000,000 conversations
over two years and 5,000,000 messages written from a vocabulary of a few hundred words, with
common words ("internet", "router"), uncommon ones ("traceroute", ~0.1% of messages) and rare
ones ("squirrel", ~100 messages) so full-text search has every kind of selectivity.

How it loads: `--fresh` drops and recreates the database; migrations run with hub.db.migrate; then,
in ONE transaction, every table is truncated, the plain (non-constraint) indexes of the big
tables are dropped, the rows are streamed in with asyncpg's binary COPY
(copy_records_to_table), the dropped indexes are recreated from their saved definitions and the
sequences are moved past the loaded ids. A crash rolls everything back, indexes included.
Foreign-key triggers are off during the load (session_replication_role = replica, superuser):
the generator only produces ids that exist. Then VACUUM (ANALYZE), so the tables look like a
settled production database (visibility map set, statistics fresh).

A second run with the same --conversations finds the data and only prints the table sizes.
Agents can log in with password `bench-password` (e.g. priya@isp.example).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import datetime as dt
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/hub_bench"
PASSWORD = "bench-password"
UTC = dt.UTC

# --------------------------------------------------------------------------------------------
# The desk
# --------------------------------------------------------------------------------------------

# (id, email, name, role). Assignment weights below: Priya (3) is the busiest agent ("me").
AGENTS = [
    (1, "ada@isp.example", "Ada Lindqvist", "admin"),
    (2, "sam@isp.example", "Sam Carter", "supervisor"),
    (3, "priya@isp.example", "Priya Shah", "agent"),
    (4, "tom@isp.example", "Tom Becker", "agent"),
    (5, "lena@isp.example", "Lena Novak", "agent"),
]
ASSIGN_WEIGHTS = [0.05, 0.15, 0.35, 0.25, 0.20]
TEAMS = [(1, "Support"), (2, "Billing"), (3, "Sales")]
TEAM_MEMBERS = [(1, 2), (1, 3), (1, 5), (2, 2), (2, 5), (3, 1)]  # (team, agent)
# (id, name, channel, team). Tom (4) sees only WhatsApp and Telegram (inbox_member rows).
INBOXES = [
    (1, "Support email", "email", 1),
    (2, "Billing email", "email", 2),
    (3, "WhatsApp", "whatsapp_cloud", 1),
    (4, "Telegram", "telegram", 1),
    (5, "Website chat", "webchat", 3),
    (6, "SMS gateway", "api", 1),
]
INBOX_MEMBERS = [(3, 4), (4, 4)]  # (inbox, agent)
INBOX_TEAM = {i[0]: i[3] for i in INBOXES}
EMAIL_INBOXES = {1, 2}

# Identity kind of a contact -> the inbox its conversations usually arrive in.
IDENTITY_KINDS = ["email", "whatsapp", "phone", "telegram", "webchat"]
IDENTITY_WEIGHTS = [0.42, 0.25, 0.13, 0.10, 0.10]
KIND_INBOX = {"email": 1, "whatsapp": 3, "phone": 6, "telegram": 4, "webchat": 5}
INBOX_WEIGHTS = [0.30, 0.12, 0.25, 0.10, 0.10, 0.13]

STATUS_ACTIVE = (["open", "pending", "snoozed"], [20, 10, 2])
STATUS_DONE = (["resolved", "closed"], [60, 8])
PRIORITIES = (["none", "low", "medium", "high", "urgent"], [55, 12, 20, 10, 3])

TOPICS = ["outage", "slow", "billing", "wifi", "router", "install", "move", "upgrade", "cancel"]
TOPIC_WEIGHTS = [18, 16, 20, 12, 10, 8, 5, 6, 5]
TOPIC_TAG = {
    "outage": "outage",
    "slow": "slow-speed",
    "billing": "billing",
    "wifi": "wifi",
    "router": "router",
    "install": "installation",
    "move": "relocation",
    "upgrade": "upgrade",
    "cancel": "cancellation",
}
# Extra tags with their probability per conversation (the topic tag is added with p=0.6).
EXTRA_TAGS = [
    ("fiber", 0.20),
    ("dsl", 0.08),
    ("complaint", 0.03),
    ("escalated", 0.02),
    ("business", 0.05),
    ("vip", 0.003),
]
TAGS = list(dict.fromkeys([*TOPIC_TAG.values(), *(t for t, _ in EXTRA_TAGS)]))

# --------------------------------------------------------------------------------------------
# The words
# --------------------------------------------------------------------------------------------

FIRST = [
    "Maria",
    "Jonas",
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Elias",
    "Sofia",
    "Leon",
    "Anna",
    "Finn",
    "Clara",
    "Paul",
    "Lea",
    "Felix",
    "Nora",
    "Ben",
    "Ida",
    "Oscar",
    "Ella",
    "Hugo",
    "Alma",
    "Emil",
    "Freja",
    "William",
    "Astrid",
    "Karl",
    "Ingrid",
    "Ali",
    "Fatima",
    "Omar",
    "Yusuf",
    "Chen",
    "Wei",
    "Mei",
    "Ravi",
    "Anita",
    "Sean",
    "Aoife",
    "Ciaran",
    "Niamh",
    "Pedro",
    "Lucia",
    "Marco",
    "Giulia",
    "Jan",
    "Eva",
    "Piotr",
    "Zofia",
    "Mateo",
    "Sara",
    "Luca",
    "Ines",
    "Tomas",
    "Hanna",
    "Erik",
]
LAST = [
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Larsen",
    "Schmidt",
    "Muller",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Koch",
    "Murphy",
    "Kelly",
    "Byrne",
    "Walsh",
    "Ryan",
    "Rossi",
    "Russo",
    "Ferrari",
    "Garcia",
    "Martinez",
    "Lopez",
    "Silva",
    "Santos",
    "Kowalski",
    "Nowak",
    "Novak",
    "Horvat",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Wilson",
    "Evans",
    "Khan",
    "Ali",
    "Chen",
    "Wang",
    "Li",
    "Kumar",
    "Singh",
    "Patel",
    "Dubois",
    "Moreau",
    "Laurent",
    "Bernard",
    "Costa",
    "Virtanen",
    "Korhonen",
    "Lindberg",
    "Berg",
    "Dahl",
    "Holm",
    "Strand",
]
DOMAINS = ["example.net", "mail.example", "post.example", "inbox.example", "example.org"]
PLACES = [
    "Northfield",
    "Riverside",
    "Oakwood",
    "Millbrook",
    "Ashford",
    "Kingsbridge",
    "Elmstead",
    "Westgate",
    "Harbourside",
    "Greenhill",
    "Stonebridge",
    "Lakeside",
    "Brookvale",
    "Fairview",
    "Highcliff",
]
DEVICES = ["router", "modem", "ONT", "fibre box", "wifi extender", "mesh unit", "set-top box"]
PLANS = ["Fibre 100", "Fibre 300", "Fibre 500", "Fibre 1000", "DSL 50", "DSL 16", "Business 1000"]
WHEN = [
    "this morning",
    "yesterday evening",
    "last night",
    "Monday",
    "the weekend",
    "two days ago",
    "about an hour ago",
    "last week",
    "lunchtime",
    "the storm on Friday",
]
INTERVALS = ["few minutes", "half hour", "hour", "evening", "night"]
ROOMS = ["bedroom", "kitchen", "office", "living room", "basement", "garden office", "attic"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
SLOTS = ["8 and 12", "12 and 16", "13 and 17", "9 and 13"]
LIGHTS = ["blinking red", "solid red", "off", "flashing orange", "blinking green"]
PAYMENTS = ["direct debit", "credit card", "bank transfer", "PayPal"]
LINE_RESULTS = [
    "no sync on the line",
    "high attenuation on the copper pair",
    "loss of signal on the fibre",
    "line in sync at reduced speed",
    "line test passed, no fault found",
    "intermittent errors on the port",
]
SYSTEMS = ["billing system", "Splynx", "network monitor", "provisioning"]

CUSTOMER = {
    "outage": [
        "my internet has been down since {when}.",
        "we have no internet at all since {when}, the {device} lights are {light}.",
        "is there an outage in {place}? My neighbours are also offline.",
        "the connection dropped {when} and has not come back.",
        "nothing works, no internet and no TV since {when}.",
    ],
    "slow": [
        "my speed test shows only {n} Mbps but I pay for {plan}.",
        "the internet is very slow every {interval}, pages take ages to load.",
        "video calls keep freezing and the speed is terrible since {when}.",
        "download speed dropped to {n} Mbps, upload is fine.",
        "online gaming lags a lot in the evening, ping is over {n} ms.",
    ],
    "billing": [
        "I was charged twice this month, invoice {inv}.",
        "my invoice {inv} shows {amount} euros but my plan is {plan}.",
        "can I pay by {payment} instead?",
        "why did my monthly bill go up? Account {acct}.",
        "I paid the invoice {inv} last week but got a reminder today.",
    ],
    "wifi": [
        "the wifi signal is weak in the {room}.",
        "my laptop keeps losing the wifi connection in the {room}.",
        "can you send a wifi extender? The {room} has no coverage.",
        "I forgot the wifi password, how can I reset it?",
        "the wifi works but the phone says connected without internet.",
    ],
    "router": [
        "the {device} keeps restarting every {interval}.",
        "the {device} lights are {light}, I already restarted it {n} times.",
        "my {device} is very hot and makes a clicking noise.",
        "can I use my own router instead of the {device} you sent?",
        "the {device} stopped working after the power cut {when}.",
    ],
    "install": [
        "when will the technician come to install the fibre? Order {acct}.",
        "the installer did not show up {when}.",
        "the fibre box was installed but the internet is not active yet.",
        "can we move the installation appointment to {day}?",
        "the technician left a cable across the {room}, can someone fix it?",
    ],
    "move": [
        "I am moving to {place} next {month}, can I take my {plan} with me?",
        "we move house on {day}, please transfer the contract to the new address in {place}.",
        "is fibre available at my new address in {place}?",
    ],
    "upgrade": [
        "I would like to upgrade to {plan}.",
        "what does it cost to go from {plan} to a faster plan?",
        "do you have a better offer than {plan}? A competitor offers more for less.",
    ],
    "cancel": [
        "please cancel my contract at the end of {month}, account {acct}.",
        "I want to cancel, the service has been unreliable since {when}.",
        "how do I return the {device} after cancelling?",
    ],
}
CUSTOMER_FOLLOWUP = [
    "still not working, I restarted the {device} again.",
    "thanks, it's working again!",
    "it worked for an hour and now it is down again.",
    "yes, the light is now green.",
    "no, the {device} lights are still {light}.",
    "ok, {day} between {slot} works for me.",
    "any update on this? I work from home and need the internet.",
    "thank you for the quick help.",
    "I tried that, no change.",
    "the speed test now shows {n} Mbps, much better.",
    "please call me back, my number is on the account.",
    "I attached a photo of the {device}.",
]
AGENT_SAYS = {
    "outage": [
        "there is an outage affecting {place}; our engineers are working on it and expect a fix by {hour}:00.",
        "we found a damaged fibre cable near {place}, repair is in progress.",
        "the outage in {place} has been fixed, please restart your {device}.",
    ],
    "slow": [
        "your line test shows {line}.",
        "could you run a speed test with a cable instead of wifi and send us the result?",
        "we reset your port, please check the speed again in ten minutes.",
    ],
    "billing": [
        "I refunded the duplicate charge on invoice {inv}; it will show in {n} working days.",
        "the price change was announced in the letter of {month}; your plan is {plan}.",
        "I have switched your payment method to {payment}.",
        "your payment for invoice {inv} has arrived, please ignore the reminder.",
    ],
    "wifi": [
        "please move the {device} to a central spot, away from the {room} walls.",
        "I have sent a mesh unit to your address, it should arrive by {day}.",
        "you can change the wifi password in the app under network settings.",
    ],
    "router": [
        "could you restart the {device} and tell me if the power light turns green?",
        "we will send you a replacement {device}, it should arrive by {day}.",
        "a factory reset may help: hold the reset button for ten seconds.",
    ],
    "install": [
        "I have booked a technician visit for {day} between {slot}.",
        "your fibre connection is now active, enjoy {plan}.",
        "the installation team will contact you to confirm the appointment.",
    ],
    "move": [
        "fibre is available in {place}; I have scheduled the move for {day}.",
        "please send us the new address and the moving date.",
    ],
    "upgrade": [
        "your plan has been upgraded to {plan}, the new speed is active within {n} hours.",
        "{plan} costs {amount} euros per month, shall I switch you over?",
    ],
    "cancel": [
        "I have registered the cancellation for the end of {month}.",
        "you will receive a return label for the {device} by email.",
        "before you go, we can offer {plan} at a discount for six months.",
    ],
}
AGENT_GENERAL = [
    "thanks for contacting us.",
    "sorry for the trouble.",
    "is there anything else I can help you with?",
    "I have escalated this to our network operations team.",
    "let me check your account, one moment please.",
    "could you confirm the address of the connection?",
    "we will keep you updated here.",
    "I will close this conversation now; just reply if the problem comes back.",
]
NOTES = [
    "line test: {line}.",
    "customer called twice about this, please prioritise.",
    "checked {system}: account {acct} is active, no open invoices.",
    "refund approved by Sam.",
    "same issue as last month, see the earlier conversation.",
    "escalated to the NOC, ticket {inv}.",
    "technician report: {line}.",
    "possible area outage in {place}, waiting for the NOC.",
]
GREETINGS = ["Hi,", "Hello,", "Hi there,", "Good morning,", "Hey,", "Dear support,", ""]
SIGNOFFS = ["Thanks", "Thank you", "Best regards", "Kind regards", "Cheers"]
# Appended to ~3% of messages: each word ends up in roughly 0.1% of messages.
UNCOMMON = [
    "a traceroute stops at the second hop.",
    "there is bufferbloat when someone uploads.",
    "the jitter is bad on video calls.",
    "my ipv6 address keeps changing.",
    "the dhcp lease expires every hour.",
    "dns lookups time out sometimes.",
    "my vpn to work disconnects.",
    "I need port forwarding for my camera.",
    "can I get a static ip address?",
    "the ethernet port on the back is loose.",
    "the powerline adapters lose sync.",
    "the mtu seems wrong for my vpn.",
    "we use a voip phone on the line.",
    "the smart tv says no network.",
    "the printer disappeared from the network.",
    "is cgnat enabled on my line?",
    "the sfp module is blinking.",
    "the firmware update failed.",
    "netflix buffers all the time.",
    "the latency to the game server is high.",
    "the splitter on the phone socket looks broken.",
    "my teenager says the nat type is strict.",
    "the cabinet door down the street is open.",
    "the doorbell camera goes offline at night.",
    "the heat pump loses its connection.",
    "the solar inverter cannot reach the cloud.",
    "the baby monitor drops out.",
    "the alarm system needs a landline.",
    "our shop card terminal fails at lunchtime.",
    "the smart meter shows offline.",
]
# Appended to ~0.05% of messages: each word is in ~100-200 messages of 5 million.
RARE = [
    "a squirrel chewed through the cable in the garden.",
    "a woodpecker damaged the cable on the pole.",
    "lightning hit the pole outside our house.",
    "the scaffolding workers cut the line.",
    "the basement flooded and the fibre box was under water.",
    "an excavator dug up the road at the corner.",
    "the landlord removed the wall socket.",
    "our goat ate the drop cable.",
    "there was a kerfuffle with the neighbour about the cable on his wall.",
    "the chimney sweep knocked the antenna off.",
    "a beaver dam flooded the cabinet.",
    "the hailstorm broke the satellite dish.",
    "a lorry snagged the overhead cable.",
    "the gardener strimmed the cable.",
    "my dog chewed the power adapter.",
    "the thatched roof makes the signal weak.",
    "we live on a houseboat in the marina.",
    "the lighthouse keeper next door has the same problem.",
    "the vineyard at the back has no coverage.",
    "the monastery on the hill asked me to report this too.",
]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        when=rng.choice(WHEN),
        device=rng.choice(DEVICES),
        light=rng.choice(LIGHTS),
        place=rng.choice(PLACES),
        n=rng.choice([2, 5, 8, 10, 12, 20, 35, 50, 80, 120, 150, 200]),
        plan=rng.choice(PLANS),
        interval=rng.choice(INTERVALS),
        inv=rng.randint(100000, 999999),
        amount=rng.choice([29, 35, 39, 45, 49, 55, 59, 69, 79, 99]),
        payment=rng.choice(PAYMENTS),
        acct=rng.randint(10000, 99999),
        room=rng.choice(ROOMS),
        month=rng.choice(MONTHS),
        day=rng.choice(DAYS),
        slot=rng.choice(SLOTS),
        line=rng.choice(LINE_RESULTS),
        hour=rng.randint(10, 22),
        system=rng.choice(SYSTEMS),
    )


def _cap(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


class Writer:
    """Message texts from pre-rendered sentence pools (fast: a few choices per message)."""

    POOL = 400

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        pool = self.POOL

        def render(templates: list[str]) -> list[str]:
            return [_cap(_fill(rng.choice(templates), rng)) for _ in range(pool)]

        self.customer = {t: render(CUSTOMER[t]) for t in TOPICS}
        self.followup = render(CUSTOMER_FOLLOWUP)
        self.agent = {t: render(AGENT_SAYS[t]) for t in TOPICS}
        self.general = [_cap(s) for s in AGENT_GENERAL]
        self.notes = render(NOTES)
        self.uncommon = [_cap(s) for s in UNCOMMON]
        self.rare = [_cap(s) for s in RARE]

    def _extras(self) -> str:
        r = self.rng.random()
        if r < 0.0005:
            return " " + self.rng.choice(self.rare)
        if r < 0.03:
            return " " + self.rng.choice(self.uncommon)
        return ""

    def inbound(self, topic: str, first: bool, first_name: str, email: bool) -> str:
        rng = self.rng
        if first:
            body = rng.choice(self.customer[topic])
            if rng.random() < 0.4:
                body += " " + rng.choice(self.customer[topic])
        else:
            body = rng.choice(self.followup)
        body += self._extras()
        greeting = rng.choice(GREETINGS)
        if greeting:
            body = f"{greeting} {body[:1].lower()}{body[1:]}"
        if email:
            body += f"\n\n{rng.choice(SIGNOFFS)},\n{first_name}"
        return body

    def outbound(self, topic: str, agent_first: str, customer_first: str, email: bool) -> str:
        rng = self.rng
        parts = []
        if rng.random() < 0.5:
            parts.append(
                f"Hello {customer_first}, {rng.choice(self.general)[:1].lower()}"
                f"{rng.choice(self.general)[1:]}"
            )
        parts.append(rng.choice(self.agent[topic]))
        if rng.random() < 0.35:
            parts.append(rng.choice(self.general))
        text = " ".join(parts)
        if email:
            text += f"\n\n{rng.choice(SIGNOFFS)},\n{agent_first}, Customer Support"
        return text

    def note(self) -> str:
        return self.rng.choice(self.notes) + self._extras()


SUBJECTS = {
    "outage": [
        "Internet down",
        "No internet since {when}",
        "Outage in {place}?",
        "Connection lost",
    ],
    "slow": ["Slow internet", "Speed only {n} Mbps", "Internet very slow in the evening"],
    "billing": ["Invoice {inv}", "Double charge", "Question about my bill", "Payment reminder"],
    "wifi": ["Wifi problems", "Weak wifi in the {room}", "Wifi password"],
    "router": ["Router keeps restarting", "{device} lights {light}", "Replacement router"],
    "install": ["Installation appointment", "Technician did not come", "Order {acct}"],
    "move": ["Moving house", "Transfer contract to {place}"],
    "upgrade": ["Upgrade to {plan}", "Faster plan"],
    "cancel": ["Cancel contract", "Cancellation account {acct}"],
}

# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

BIG_TABLES = ["contact", "contact_identity", "conversation", "conversation_tag", "message"]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def admin_dsn(dsn: str) -> tuple[str, str]:
    base, name = dsn.rsplit("/", 1)
    name = name.split("?", 1)[0]
    return base + "/postgres", name


async def ensure_database(dsn: str, fresh: bool) -> None:
    admin_url, name = admin_dsn(dsn)
    admin = await asyncpg.connect(admin_url)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and fresh:
            log(f"dropping database {name}")
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            log(f"creating database {name}")
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


class Timer:
    def __init__(self) -> None:
        self.figures: dict[str, float] = {}

    def run(self, label: str):  # type: ignore[no-untyped-def]
        timer = self

        class _Ctx:
            def __enter__(self) -> None:
                self.t0 = time.perf_counter()
                log(f"{label} ...")

            def __exit__(self, *exc: object) -> None:
                took = time.perf_counter() - self.t0
                timer.figures[label] = took
                if exc[0] is None:
                    log(f"{label}: {took:.1f} s")

        return _Ctx()


def split_counts(total: int, n: int, per: int, rng: random.Random) -> array.array:
    """n counts between 1 and 2*per-1 (mean per) summing exactly to total."""
    hi = max(1, 2 * per - 1)
    counts = array.array("H", (rng.randint(1, hi) for _ in range(n)))
    diff = total - sum(counts)
    while diff:
        i = rng.randrange(n)
        if diff > 0 and counts[i] < hi + 4:
            counts[i] += 1
            diff -= 1
        elif diff < 0 and counts[i] > 1:
            counts[i] -= 1
            diff += 1
    return counts


async def load(
    conn: asyncpg.Connection, n_conv: int, per: int, seed: int, timer: Timer
) -> dict[str, int]:
    rng = random.Random(seed)
    writer = Writer(rng)
    now = dt.datetime.now(UTC).replace(microsecond=0)
    now_ts = now.timestamp()
    span = 730 * 86400.0
    start_ts = now_ts - span
    n_contacts = max(10, round(n_conv * 0.3))
    n_messages = n_conv * per
    fromts = dt.datetime.fromtimestamp

    from hub.auth.accounts import hash_password

    password_hash = await hash_password(PASSWORD)

    tables = [
        r["tablename"]
        for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migration'"
        )
    ]
    await conn.execute("SET session_replication_role = replica")  # no FK triggers while loading
    await conn.execute("SET maintenance_work_mem = '1GB'")
    await conn.execute("SET synchronous_commit = off")
    await conn.execute(
        "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
    )

    index_defs = await conn.fetch(
        """SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
             FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
            WHERE t.relname = ANY($1::text[]) AND t.relnamespace = 'public'::regnamespace
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        BIG_TABLES,
    )
    for row in index_defs:
        await conn.execute(f'DROP INDEX "{row["name"]}"')
    log(f"dropped {len(index_defs)} secondary indexes for the load")

    # ---- the desk -----------------------------------------------------------------------
    created = dt.datetime.fromtimestamp(start_ts - 86400, UTC)
    await conn.copy_records_to_table(
        "agent",
        columns=[
            "id",
            "email",
            "name",
            "password_hash",
            "role",
            "active",
            "availability",
            "created_at",
        ],
        records=[(a, e, n, password_hash, r, True, "available", created) for a, e, n, r in AGENTS],
    )
    await conn.copy_records_to_table(
        "team", columns=["id", "name", "created_at"], records=[(t, n, created) for t, n in TEAMS]
    )
    await conn.copy_records_to_table(
        "team_member",
        columns=["id", "team", "agent"],
        records=[(i + 1, t, a) for i, (t, a) in enumerate(TEAM_MEMBERS)],
    )
    await conn.copy_records_to_table(
        "inbox",
        columns=[
            "id",
            "name",
            "channel",
            "config_encrypted",
            "public_token",
            "team",
            "active",
            "created_at",
        ],
        records=[
            (i, n, ch, "", f"bench{rng.getrandbits(128):032x}", team, True, created)
            for i, n, ch, team in INBOXES
        ],
    )
    await conn.copy_records_to_table(
        "inbox_member",
        columns=["id", "inbox", "agent"],
        records=[(i + 1, b, a) for i, (b, a) in enumerate(INBOX_MEMBERS)],
    )
    await conn.copy_records_to_table(
        "tag", columns=["id", "name"], records=[(i + 1, t) for i, t in enumerate(TAGS)]
    )
    tag_id = {t: i + 1 for i, t in enumerate(TAGS)}

    # ---- contacts -----------------------------------------------------------------------
    contact_first = array.array("B", bytes(n_contacts + 1))
    contact_inbox = array.array("B", bytes(n_contacts + 1))

    def contact_rows() -> Iterator[tuple[Any, ...]]:
        for cid in range(1, n_contacts + 1):
            f = rng.randrange(len(FIRST))
            contact_first[cid] = f
            name = f"{FIRST[f]} {rng.choice(LAST)}"
            at = fromts(
                start_ts + span * 0.8 * (cid / n_contacts) - 86400 * 400 * rng.random(), UTC
            )
            attrs = (
                f'{{"customer_id": "C{100000 + cid}", "plan": "{rng.choice(PLANS)}"}}'
                if rng.random() < 0.6
                else "{}"
            )
            yield (cid, name, attrs, at, at)

    with timer.run(f"copy contact ({n_contacts:,})"):
        await conn.copy_records_to_table(
            "contact",
            columns=["id", "name", "attributes", "created_at", "updated_at"],
            records=contact_rows(),
        )

    def identity_rows() -> Iterator[tuple[Any, ...]]:
        kinds = rng.choices(IDENTITY_KINDS, IDENTITY_WEIGHTS, k=n_contacts)
        for cid in range(1, n_contacts + 1):
            kind = kinds[cid - 1]
            inbox = KIND_INBOX[kind]
            if kind == "email" and rng.random() < 0.25:
                inbox = 2
            contact_inbox[cid] = inbox
            if kind == "email":
                address = f"{FIRST[contact_first[cid]].lower()}.{rng.choice(LAST).lower()}{cid}@{rng.choice(DOMAINS)}"
            elif kind == "phone":
                address = f"+35380{cid:07d}"
            elif kind == "whatsapp":
                address = f"35387{cid:07d}"
            elif kind == "telegram":
                address = str(500000000 + cid * 7)
            else:
                address = f"wc_{cid:08x}{rng.getrandbits(32):08x}"
            yield (cid, cid, kind, address, kind != "webchat", created)

    with timer.run(f"copy contact_identity ({n_contacts:,})"):
        await conn.copy_records_to_table(
            "contact_identity",
            columns=["id", "contact", "kind", "address", "verified", "created_at"],
            records=identity_rows(),
        )

    # ---- conversations (and the skeleton of their messages) -----------------------------
    counts = split_counts(n_messages, n_conv, per, rng)
    msg_time = array.array("d", bytes(8 * n_messages))
    msg_code = bytearray(n_messages)  # 0 inbound, 1 outbound, 2 note, 3 event
    conv_inbox = bytearray(n_conv + 1)
    conv_contact = array.array("i", bytes(4 * (n_conv + 1)))
    conv_agent = bytearray(n_conv + 1)  # assignee, or the agent who answered; never 0
    conv_topic = bytearray(n_conv + 1)
    conv_status = bytearray(n_conv + 1)  # index into STATUSES
    statuses = ["open", "pending", "snoozed", "resolved", "closed"]
    status_idx = {s: i for i, s in enumerate(statuses)}
    recent_window = 30 * 86400.0
    frac_recent = recent_window / span
    p_active_recent = 0.9
    p_active_old = max(0.0, (0.32 - frac_recent * p_active_recent) / (1 - frac_recent))
    created_u = sorted(rng.random() for _ in range(n_conv))
    topic_seq = rng.choices(range(len(TOPICS)), TOPIC_WEIGHTS, k=n_conv)
    prio_seq = rng.choices(*PRIORITIES, k=n_conv)
    agent_seq = rng.choices([a[0] for a in AGENTS], ASSIGN_WEIGHTS, k=n_conv)
    subj_pools = {t: [_fill(rng.choice(SUBJECTS[t]), rng) for _ in range(300)] for t in TOPICS}
    inbox_ids = [i[0] for i in INBOXES]

    def conversation_rows() -> Iterator[tuple[Any, ...]]:
        m = 0
        rnd = rng.random
        expo = rng.expovariate
        for cid in range(1, n_conv + 1):
            k = counts[cid - 1]
            contact = 1 + int(n_contacts * rnd() ** 1.6)
            if contact > n_contacts:
                contact = n_contacts
            inbox = (
                contact_inbox[contact] if rnd() < 0.85 else rng.choices(inbox_ids, INBOX_WEIGHTS)[0]
            )
            email = inbox in EMAIL_INBOXES
            topic = topic_seq[cid - 1]
            t0 = start_ts + created_u[cid - 1] * span
            mean_gap = 8 * 3600.0 if email else 1800.0
            times = [t0]
            for _ in range(k - 1):
                times.append(times[-1] + 30 + expo(1 / mean_gap))
            if times[-1] > now_ts - 60:  # squeeze into [t0, now)
                end = now_ts - 60 - rnd() * 3600
                if end <= t0:
                    t0 = end - 60 * k
                scale = (end - t0) / max(times[-1] - times[0], 1.0)
                times = [t0 + (x - times[0]) * scale for x in times]
            last_at = times[-1]
            recent = now_ts - last_at < recent_window
            if rnd() < (p_active_recent if recent else p_active_old):
                status = rng.choices(*STATUS_ACTIVE)[0]
            else:
                status = rng.choices(*STATUS_DONE)[0]
            assigned = rnd() < 0.4
            agent = agent_seq[cid - 1]
            # message kinds
            codes = [0]
            last_dir = 0
            for _ in range(1, k):
                r = rnd()
                if r < 0.08:
                    codes.append(2)
                else:
                    d = 1 - last_dir if r < 0.82 else last_dir
                    codes.append(d)
                    last_dir = d
            done = status in ("resolved", "closed")
            if done and k >= 3 and rnd() < 0.6:
                codes[-1] = 3
            if status == "pending" and k >= 2 and codes[-1] != 1:
                codes[-1] = 1
            agent_for_row = agent if assigned else None
            # conversation times
            lm_idx = k - 1 if codes[-1] != 3 else k - 2
            last_message_at = times[lm_idx]
            inbound_times = [times[j] for j in range(k) if codes[j] == 0]
            outbound_times = [times[j] for j in range(k) if codes[j] == 1]
            last_inbound = inbound_times[-1] if inbound_times else None
            first_reply = outbound_times[0] if outbound_times else None
            waiting = None
            unread = 0
            if status == "open":
                last_out = outbound_times[-1] if outbound_times else None
                trailing = [t for t in inbound_times if last_out is None or t > last_out]
                if trailing:
                    waiting = trailing[0]
                    unread = min(len(trailing), 5) if rnd() < 0.6 else 0
            resolved_at = None
            if done:
                resolved_at = (
                    times[-1]
                    if codes[-1] == 3
                    else min(last_message_at + 300 + expo(1 / 7200), now_ts - 1)
                )
            snoozed_until = now_ts + 3600 + rnd() * 10 * 86400 if status == "snoozed" else None
            subject = rng.choice(subj_pools[TOPICS[topic]]) if email else ""
            # skeleton
            for j in range(k):
                msg_time[m] = times[j]
                msg_code[m] = codes[j]
                m += 1
            conv_inbox[cid] = inbox
            conv_contact[cid] = contact
            conv_agent[cid] = agent
            conv_topic[cid] = topic
            conv_status[cid] = status_idx[status]
            updated = max(last_message_at, resolved_at or 0)
            yield (
                cid,
                999 + cid,
                inbox,
                contact,
                status,
                prio_seq[cid - 1],
                subject,
                agent_for_row,
                INBOX_TEAM[inbox],
                fromts(snoozed_until, UTC) if snoozed_until else None,
                unread,
                fromts(t0, UTC),
                fromts(updated, UTC),
                fromts(last_message_at, UTC),
                fromts(last_inbound, UTC) if last_inbound else None,
                fromts(waiting, UTC) if waiting else None,
                fromts(first_reply, UTC) if first_reply else None,
                fromts(resolved_at, UTC) if resolved_at else None,
            )

    with timer.run(f"copy conversation ({n_conv:,})"):
        await conn.copy_records_to_table(
            "conversation",
            columns=[
                "id",
                "ref",
                "inbox",
                "contact",
                "status",
                "priority",
                "subject",
                "assignee",
                "team",
                "snoozed_until",
                "unread_count",
                "created_at",
                "updated_at",
                "last_message_at",
                "last_inbound_at",
                "waiting_since",
                "first_reply_at",
                "resolved_at",
            ],
            records=conversation_rows(),
        )

    def tag_rows() -> Iterator[tuple[Any, ...]]:
        rid = 0
        rnd = rng.random
        for cid in range(1, n_conv + 1):
            tags = []
            if rnd() < 0.6:
                tags.append(tag_id[TOPIC_TAG[TOPICS[conv_topic[cid]]]])
            for name, p in EXTRA_TAGS:
                if rnd() < p:
                    tags.append(tag_id[name])
            for t in dict.fromkeys(tags):
                rid += 1
                yield (rid, cid, t)

    with timer.run("copy conversation_tag"):
        await conn.copy_records_to_table(
            "conversation_tag", columns=["id", "conversation", "tag"], records=tag_rows()
        )

    # ---- messages -----------------------------------------------------------------------
    agent_first = {a[0]: a[2].split()[0] for a in AGENTS}
    agent_full = {a[0]: a[2] for a in AGENTS}
    n_agents = len(AGENTS)

    def message_rows() -> Iterator[tuple[Any, ...]]:
        m = 0
        rnd = rng.random
        for cid in range(1, n_conv + 1):
            k = counts[cid - 1]
            inbox = conv_inbox[cid]
            contact = conv_contact[cid]
            email = inbox in EMAIL_INBOXES
            topic = TOPICS[conv_topic[cid]]
            agent = conv_agent[cid]
            cust_first = FIRST[contact_first[contact]]
            first_in = True
            for _ in range(k):
                mid = m + 1
                at = fromts(msg_time[m], UTC)
                code = msg_code[m]
                if code == 0:
                    text = writer.inbound(topic, first_in, cust_first, email)
                    first_in = False
                    yield (
                        mid,
                        cid,
                        inbox,
                        "message",
                        "in",
                        "contact",
                        contact,
                        text,
                        "received",
                        f"in-{mid}",
                        0,
                        at,
                        at,
                        at,
                    )
                elif code == 1:
                    who = agent if rnd() < 0.9 else 1 + int(rnd() * n_agents)
                    text = writer.outbound(topic, agent_first[who], cust_first, email)
                    r = rnd()
                    status = "delivered" if r < 0.8 else ("read" if r < 0.96 else "sent")
                    yield (
                        mid,
                        cid,
                        inbox,
                        "message",
                        "out",
                        "agent",
                        who,
                        text,
                        status,
                        f"out-{mid}",
                        1,
                        at,
                        at,
                        at,
                    )
                elif code == 2:
                    yield (
                        mid,
                        cid,
                        inbox,
                        "note",
                        None,
                        "agent",
                        agent,
                        writer.note(),
                        "received",
                        None,
                        0,
                        at,
                        at,
                        None,
                    )
                else:
                    verb = "resolved" if statuses[conv_status[cid]] == "resolved" else "closed"
                    yield (
                        mid,
                        cid,
                        inbox,
                        "event",
                        None,
                        "agent",
                        agent,
                        f"{agent_full[agent]} {verb} the conversation",
                        "received",
                        None,
                        0,
                        at,
                        at,
                        None,
                    )
                m += 1

    with timer.run(f"copy message ({n_messages:,})"):
        await conn.copy_records_to_table(
            "message",
            columns=[
                "id",
                "conversation",
                "inbox",
                "kind",
                "direction",
                "author_type",
                "author_id",
                "text",
                "status",
                "provider_message_id",
                "attempts",
                "created_at",
                "updated_at",
                "sent_at",
            ],
            records=message_rows(),
        )

    await conn.execute("RESET session_replication_role")
    for row in index_defs:
        with timer.run(f"index {row['name']}"):
            await conn.execute(row["def"])

    for table in [
        "agent",
        "team",
        "team_member",
        "inbox",
        "inbox_member",
        "tag",
        "contact",
        "contact_identity",
        "conversation",
        "conversation_tag",
        "message",
    ]:
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
        )
    await conn.execute(
        "SELECT setval(pg_get_serial_sequence('conversation', 'ref'), (SELECT max(ref) FROM conversation))"
    )
    return {"contacts": n_contacts, "conversations": n_conv, "messages": n_messages}


async def sizes(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        """SELECT c.relname, c.reltuples::bigint AS rows, pg_size_pretty(pg_table_size(c.oid)) AS heap,
                  pg_size_pretty(pg_indexes_size(c.oid)) AS indexes
             FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
            ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 8"""
    )
    for r in rows:
        print(
            f"  {r['relname']:<18} {r['rows']:>10,} rows  heap {r['heap']:>8}  indexes {r['indexes']:>8}"
        )
    total = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
    print(f"  database size: {total}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("HUB_BENCH_DSN", DEFAULT_DSN))
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--messages-per", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database first")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    os.environ["HUB_RESOLVED_DSN"] = args.dsn
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    timer = Timer()
    t0 = time.perf_counter()
    await ensure_database(args.dsn, args.fresh)
    from hub.db.migrate import migrate

    with timer.run("migrations"):
        applied = await migrate(args.dsn)
    log(f"migrations applied: {applied or 'none pending'}")

    conn = await asyncpg.connect(args.dsn)
    try:
        have = await conn.fetchval("SELECT count(*) FROM conversation")
        have_messages = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM message)")
        if have == args.conversations and have_messages:
            log(
                f"conversation already holds {have:,} rows: nothing to load (use --fresh to reload)"
            )
            await sizes(conn)
            return
        if have:
            log(
                f"conversation holds {have:,} rows, not {args.conversations:,}: reloading every table"
            )
        tx = conn.transaction()
        await tx.start()
        try:
            counts = await load(conn, args.conversations, args.messages_per, args.seed, timer)
        except BaseException:
            await tx.rollback()
            raise
        with timer.run("commit"):
            await tx.commit()
        # Settle like a production database: visibility map for index-only scans, statistics.
        for table in [*BIG_TABLES, "agent", "team", "inbox", "tag", "team_member", "inbox_member"]:
            with timer.run(f"vacuum analyze {table}"):
                await conn.execute(f"VACUUM (ANALYZE) {table}")
        log(f"loaded {json.dumps(counts)} in {time.perf_counter() - t0:.0f} s")
        stats = await conn.fetch(
            "SELECT status, count(*) AS n FROM conversation GROUP BY 1 ORDER BY 2 DESC"
        )
        total = sum(r["n"] for r in stats)
        print("  status: " + ", ".join(f"{r['status']} {100 * r['n'] / total:.1f}%" for r in stats))
        assigned = await conn.fetchval("SELECT avg((assignee IS NOT NULL)::int) FROM conversation")
        print(f"  assigned: {100 * float(assigned):.1f}%")
        await sizes(conn)
        print("timings: " + json.dumps({k: round(v, 1) for k, v in timer.figures.items()}))
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
