"""Macros (saved replies with variables and actions) and outgoing webhooks (subscriptions and
their delivery log).

A macro is personal (its owner only), shared with a team (its members) or shared with everyone.
A webhook delivery is one row per (subscription, event): the `webhooks` event subscriber can be
handed the same batch twice and stores nothing twice. A redelivery is a new row pointing at the
delivery it repeats (`redelivery_of`), so the log keeps every attempt.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-04T02:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "macros, webhook subscriptions and deliveries; hub_emit locks rows before ordering"

STATEMENTS = [
    """CREATE TABLE macro (
        id serial PRIMARY KEY,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        body text NOT NULL DEFAULT '',
        actions jsonb NOT NULL DEFAULT '[]'::jsonb,
        visibility text NOT NULL CHECK (visibility IN ('personal', 'team', 'everyone')),
        owner integer REFERENCES agent (id) ON DELETE CASCADE,
        team integer REFERENCES team (id) ON DELETE CASCADE,
        created_by integer REFERENCES agent (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (visibility <> 'personal' OR owner IS NOT NULL),
        CHECK (visibility <> 'team' OR team IS NOT NULL))""",
    "CREATE INDEX macro_owner_idx ON macro (owner) WHERE visibility = 'personal'",
    "CREATE INDEX macro_team_idx ON macro (team) WHERE visibility = 'team'",
    """CREATE TABLE webhook_subscription (
        id serial PRIMARY KEY,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        url text NOT NULL,
        secret_encrypted text NOT NULL,
        event_types text[] NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        consecutive_failures integer NOT NULL DEFAULT 0,
        disabled_reason text NOT NULL DEFAULT '',
        created_by integer REFERENCES agent (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE webhook_delivery (
        id bigserial PRIMARY KEY,
        subscription integer NOT NULL REFERENCES webhook_subscription (id) ON DELETE CASCADE,
        event bigint,
        event_type text NOT NULL,
        payload jsonb NOT NULL,
        test boolean NOT NULL DEFAULT false,
        redelivery_of bigint REFERENCES webhook_delivery (id) ON DELETE SET NULL,
        status text NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sending', 'succeeded', 'failed', 'skipped')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        response_code integer,
        response_body text NOT NULL DEFAULT '',
        latency_ms integer,
        error text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        CONSTRAINT webhook_delivery_once UNIQUE (subscription, event))""",
    "CREATE INDEX webhook_delivery_log_idx ON webhook_delivery (subscription, id DESC)",
    "CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at)"
    " WHERE status IN ('pending', 'sending')",
    # Existing installations start the subscriber at the present: no deliveries about the past.
    "INSERT INTO event_cursor (subscriber, last_id) SELECT 'webhooks', coalesce(max(id), 0)"
    " FROM event ON CONFLICT DO NOTHING",
]


# hub_emit takes its ordering lock, then inserts events whose foreign key needs a KEY SHARE lock
# on each conversation. A writer holding a conversation FOR UPDATE (hub.conversations.lifecycle)
# that then emits waits for the ordering lock, while an emitter without the row lock
# (hub.outbox.dispatch recording "sent") holds the ordering lock and waits for the row: a
# deadlock, seen when a macro's actions ran while its reply was being sent. Taking the
# conversations' KEY SHARE locks first, in id order, makes every emitter take row locks before
# the ordering lock.
EMIT_FUNCTION = r"""
CREATE OR REPLACE FUNCTION hub_emit(events jsonb, actor_type text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
    out jsonb;
BEGIN
    PERFORM 1 FROM conversation
      WHERE id IN (SELECT (e->>'conversation')::int FROM jsonb_array_elements(events) AS t(e))
      ORDER BY id FOR KEY SHARE;
    PERFORM pg_advisory_xact_lock(4851713);
    WITH rows AS (
        INSERT INTO event (type, conversation, inbox, actor_type, actor_id, data, created_at)
        SELECT e->>'type', (e->>'conversation')::int, (e->>'inbox')::int, actor_type, actor_id,
               coalesce(e->'data', '{}'::jsonb), now()
          FROM jsonb_array_elements(events) WITH ORDINALITY AS t(e, n)
         ORDER BY n
        RETURNING id, type, conversation, inbox, data, created_at
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', id, 'type', type, 'conversation_id', conversation, 'inbox_id', inbox,
               'data', data, 'created_at', created_at) ORDER BY id), '[]'::jsonb)
      INTO out FROM rows;
    RETURN out;
END
$fn$;
"""

forwards = sql_migration(ID, DESCRIPTION, [*STATEMENTS, EMIT_FUNCTION])
