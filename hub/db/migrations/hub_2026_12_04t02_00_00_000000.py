"""Automation: rules (a validated JSON definition each), their run log, and the claims that make
a time rule act once per conversation and occurrence however many workers sweep.

`conversation.status_since` (kept by a trigger, so no writer has to remember it) tells how long
a conversation has been pending; the partial indexes keep each time trigger's query to the rows
it can match.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-04T02:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "automation rules, run log, time-rule claims, conversation.status_since"

STATEMENTS = [
    """CREATE TABLE automation_rule (
        id serial PRIMARY KEY,
        name text NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        position integer NOT NULL DEFAULT 0,
        trigger_type text NOT NULL,
        definition jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now())""",
    "CREATE INDEX automation_rule_order_idx ON automation_rule (position, id)",
    """CREATE TABLE automation_run (
        id bigserial PRIMARY KEY,
        rule integer REFERENCES automation_rule (id) ON DELETE SET NULL,
        rule_name text NOT NULL,
        conversation integer REFERENCES conversation (id) ON DELETE CASCADE,
        event bigint,
        occurrence text,
        trigger text NOT NULL,
        depth integer NOT NULL DEFAULT 0,
        status text NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed', 'loop_prevented', 'depth_limit')),
        conditions jsonb NOT NULL DEFAULT '[]'::jsonb,
        actions jsonb NOT NULL DEFAULT '[]'::jsonb,
        error text,
        created_at timestamptz NOT NULL DEFAULT now())""",
    # A redelivered event batch (after a crash) finds its runs and acts on nothing twice.
    "CREATE UNIQUE INDEX automation_run_event_once ON automation_run (rule, event, conversation)"
    " WHERE event IS NOT NULL",
    # Two workers sweeping the same time rule: only one inserts the claim, only that one acts.
    "CREATE UNIQUE INDEX automation_run_occurrence_once ON automation_run (rule, conversation, occurrence)"
    " WHERE occurrence IS NOT NULL",
    "CREATE INDEX automation_run_list_idx ON automation_run (id DESC)",
    "CREATE INDEX automation_run_rule_idx ON automation_run (rule, id DESC)",
    "CREATE INDEX automation_run_conversation_idx ON automation_run (conversation, id DESC)",
    "ALTER TABLE conversation ADD COLUMN status_since timestamptz",
    """CREATE OR REPLACE FUNCTION hub_status_since() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.status_since := now();
    RETURN NEW;
END
$fn$""",
    """CREATE TRIGGER conversation_status_since BEFORE UPDATE OF status ON conversation
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION hub_status_since()""",
    # The time triggers' work lists, oldest first.
    "CREATE INDEX conversation_pending_since_idx ON conversation (status_since, id) WHERE status = 'pending'",
    "CREATE INDEX conversation_resolved_at_idx ON conversation (resolved_at, id) WHERE status = 'resolved'",
    "CREATE INDEX conversation_waiting_idx ON conversation (waiting_since, id)"
    " WHERE waiting_since IS NOT NULL AND status = 'open'",
    "CREATE INDEX conversation_awaiting_customer_idx ON conversation (last_message_at, id)"
    " WHERE waiting_since IS NULL AND status IN ('open', 'pending')",
    # Start at the present: rules apply to what happens from now on.
    "INSERT INTO event_cursor (subscriber, last_id) SELECT 'automation', coalesce(max(id), 0)"
    " FROM event ON CONFLICT DO NOTHING",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
