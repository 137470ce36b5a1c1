"""SLA in business time: calendars, policies, deadlines stored on the conversation, event cursors.

The deadlines are columns of `conversation`, so that "at risk", "breached" and "nearest deadline
first" are index scans. `sla_state` keeps the policy as it was applied (later edits of the policy
do not move running deadlines) and each target's bookkeeping (minutes, business time consumed
before a pause, warned). `sla_check_at` is the next instant the sweep must look at a conversation:
a warning or a deadline, whichever comes first.

`event_cursor` is how far each event subscriber (hub.realtime.subscribers) has read the event log.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-03T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "business hours, SLA policies, SLA deadlines on conversations, event cursors"

CONVERSATIONS_JSON = r"""
CREATE OR REPLACE FUNCTION hub_conversations_json(ids int[]) RETURNS TABLE (id int, data jsonb)
LANGUAGE sql STABLE AS $fn$
SELECT c.id, jsonb_build_object(
    'id', c.id, 'ref', c.ref, 'inbox_id', c.inbox, 'channel', i.channel, 'status', c.status,
    'priority', c.priority, 'subject', c.subject,
    'contact', jsonb_build_object('id', ct.id, 'name', ct.name),
    'assignee_id', c.assignee, 'team_id', c.team,
    'tags', coalesce((SELECT jsonb_agg(t.name ORDER BY t.name) FROM conversation_tag x
                      JOIN tag t ON t.id = x.tag WHERE x.conversation = c.id), '[]'::jsonb),
    'snoozed_until', c.snoozed_until, 'created_at', c.created_at,
    'last_message_at', c.last_message_at, 'last_inbound_at', c.last_inbound_at,
    'waiting_since', c.waiting_since, 'unread_count', c.unread_count,
    'window_closes_at', CASE WHEN i.reply_window_hours IS NOT NULL AND c.last_inbound_at IS NOT NULL
                             THEN c.last_inbound_at + make_interval(hours => i.reply_window_hours) END,
    'sla', CASE WHEN c.sla_policy IS NOT NULL THEN jsonb_build_object(
        'policy_id', c.sla_policy, 'policy_name', c.sla_state->'policy'->>'name',
        'first_response_due_at', c.first_response_due_at, 'first_response_status', c.first_response_status,
        'next_response_due_at', c.next_response_due_at, 'next_response_status', c.next_response_status,
        'resolution_due_at', c.resolution_due_at, 'resolution_status', c.resolution_status,
        'due_at', c.sla_due_at, 'warn_at', c.sla_warn_at, 'breached_at', c.sla_breached_at,
        'first_response_seconds', c.first_response_seconds, 'resolution_seconds', c.resolution_seconds)
    END)
FROM conversation c JOIN inbox i ON i.id = c.inbox JOIN contact ct ON ct.id = c.contact
WHERE c.id = ANY(ids)
$fn$;
"""

STATEMENTS = [
    """CREATE TABLE business_hours (
        id serial PRIMARY KEY,
        name text NOT NULL UNIQUE,
        timezone text NOT NULL,
        weekly jsonb NOT NULL,
        holidays jsonb NOT NULL DEFAULT '[]'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE sla_policy (
        id serial PRIMARY KEY,
        name text NOT NULL UNIQUE,
        business_hours integer REFERENCES business_hours (id) ON DELETE RESTRICT,
        targets jsonb NOT NULL,
        warning_percent integer NOT NULL DEFAULT 80 CHECK (warning_percent BETWEEN 1 AND 99),
        pause_when_pending boolean NOT NULL DEFAULT true,
        pause_when_snoozed boolean NOT NULL DEFAULT true,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now())""",
    "ALTER TABLE inbox ADD COLUMN sla_policy integer REFERENCES sla_policy (id) ON DELETE SET NULL",
    "ALTER TABLE team ADD COLUMN sla_policy integer REFERENCES sla_policy (id) ON DELETE SET NULL",
    """ALTER TABLE conversation
        ADD COLUMN sla_policy integer REFERENCES sla_policy (id) ON DELETE SET NULL,
        ADD COLUMN sla_state jsonb,
        ADD COLUMN first_response_due_at timestamptz,
        ADD COLUMN first_response_status text,
        ADD COLUMN first_response_seconds integer,
        ADD COLUMN next_response_due_at timestamptz,
        ADD COLUMN next_response_status text,
        ADD COLUMN resolution_due_at timestamptz,
        ADD COLUMN resolution_status text,
        ADD COLUMN resolution_seconds integer,
        ADD COLUMN sla_due_at timestamptz,
        ADD COLUMN sla_warn_at timestamptz,
        ADD COLUMN sla_check_at timestamptz,
        ADD COLUMN sla_breached_at timestamptz""",
    # The sweep's work list, and the SLA list filters and ordering: small partial indexes, since
    # only conversations with a running target have these set.
    "CREATE INDEX conversation_sla_check_idx ON conversation (sla_check_at) WHERE sla_check_at IS NOT NULL",
    "CREATE INDEX conversation_sla_due_idx ON conversation (sla_due_at, id) WHERE sla_due_at IS NOT NULL",
    # "At risk" is warn <= now < due: the rows past their warning are few (the sweep moves
    # breached targets out of the running set), so this range is short even when none is at risk.
    "CREATE INDEX conversation_sla_warn_idx ON conversation (sla_warn_at) WHERE sla_warn_at IS NOT NULL",
    "CREATE INDEX conversation_sla_breached_idx ON conversation (sla_breached_at DESC, id DESC)"
    " WHERE sla_breached_at IS NOT NULL AND status IN ('open', 'pending', 'snoozed')",
    """CREATE TABLE event_cursor (
        subscriber text PRIMARY KEY,
        last_id bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now())""",
    # An existing installation starts its subscribers at the present: SLA applies from now on,
    # not to every past conversation.
    "INSERT INTO event_cursor (subscriber, last_id) SELECT 'sla', coalesce(max(id), 0) FROM event",
    CONVERSATIONS_JSON,
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
