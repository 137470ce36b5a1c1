"""Reports: hourly rollups of the event log, each conversation's metrics, the rollup's mark.

`report_hour` holds counts per hour × inbox × channel × team × agent × priority × tag; `tag` is
'' on the rows that count every conversation once, and a tag's name on the extra rows that count
the conversations carrying it (so a tag filter reads its own rows, and no query multiplies).
Missing dimensions are 0 / '' instead of NULL so that the key can be a primary key.
`report_duration` keeps the same key plus a metric and a log-spaced histogram bucket, which is
what medians and p90s are read from. `report_conversation` is the rollup's state per conversation
(its current dimensions, first reply, resolution, SLA outcomes, CSAT) and the CSV export's rows.
`report_open` is the backlog now per dimension. `report_mark` is the id of the last event the rollup applied, written in the same transaction
as the rollup rows (exactly once across crashes and workers).
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-04T02:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "report rollups per hour, duration histograms, per-conversation report state"

_KEY = """hour timestamptz NOT NULL,
        inbox integer NOT NULL,
        channel text NOT NULL,
        team integer NOT NULL,
        agent integer NOT NULL,
        priority text NOT NULL,
        tag text NOT NULL"""

STATEMENTS = [
    f"""CREATE TABLE report_hour (
        {_KEY},
        created integer NOT NULL DEFAULT 0,
        resolved integer NOT NULL DEFAULT 0,
        reopened integer NOT NULL DEFAULT 0,
        messages_in integer NOT NULL DEFAULT 0,
        messages_out integer NOT NULL DEFAULT 0,
        backlog integer NOT NULL DEFAULT 0,
        sla_first_response_met integer NOT NULL DEFAULT 0,
        sla_first_response_breached integer NOT NULL DEFAULT 0,
        sla_next_response_met integer NOT NULL DEFAULT 0,
        sla_next_response_breached integer NOT NULL DEFAULT 0,
        sla_resolution_met integer NOT NULL DEFAULT 0,
        sla_resolution_breached integer NOT NULL DEFAULT 0,
        csat_sent integer NOT NULL DEFAULT 0,
        csat_received integer NOT NULL DEFAULT 0,
        csat_sum integer NOT NULL DEFAULT 0,
        csat_positive integer NOT NULL DEFAULT 0,
        PRIMARY KEY (tag, hour, inbox, channel, team, agent, priority))""",
    f"""CREATE TABLE report_duration (
        {_KEY},
        metric smallint NOT NULL,
        bucket smallint NOT NULL,
        n integer NOT NULL DEFAULT 0,
        total bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (tag, metric, hour, inbox, channel, team, agent, priority, bucket))""",
    # The backlog now (the sum of every backlog row) per dimension: the backlog at an instant is
    # this minus the rows after it, which for recent ranges reads a few rows instead of all.
    """CREATE TABLE report_open (
        inbox integer NOT NULL,
        channel text NOT NULL,
        team integer NOT NULL,
        agent integer NOT NULL,
        priority text NOT NULL,
        tag text NOT NULL,
        open integer NOT NULL DEFAULT 0,
        PRIMARY KEY (tag, inbox, channel, team, agent, priority))""",
    """CREATE TABLE report_conversation (
        id integer PRIMARY KEY,
        inbox integer NOT NULL,
        channel text NOT NULL,
        team integer NOT NULL,
        agent integer NOT NULL,
        priority text NOT NULL,
        tags text[] NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        first_reply_at timestamptz,
        resolved_at timestamptz,
        first_response_business integer,
        resolution_business integer,
        sla_first_response text,
        sla_next_response text,
        sla_resolution text,
        csat smallint,
        messages_in integer NOT NULL DEFAULT 0,
        messages_out integer NOT NULL DEFAULT 0)""",
    "CREATE INDEX report_conversation_created_idx ON report_conversation (created_at, id)",
    """CREATE TABLE report_mark (
        id integer PRIMARY KEY CHECK (id = 1),
        last_event bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())""",
    "INSERT INTO report_mark (id, last_event) VALUES (1, 0)",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
