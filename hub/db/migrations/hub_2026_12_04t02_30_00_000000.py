"""CSAT: per-inbox survey settings, one survey per resolution, one answer per conversation.

A survey row is made when the `csat` event subscriber sees a conversation resolved; its
`resolution_event` (the id of that conversation.updated event) is unique, so a redelivered batch
schedules nothing twice. The sweep sends what is due, claiming rows with SKIP LOCKED, so two
workers never send one survey twice. The answer is keyed by conversation: a later answer within
the survey's window replaces the earlier one.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-04T02:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "CSAT settings per inbox, surveys and responses"

STATEMENTS = [
    """CREATE TABLE csat_setting (
        inbox integer PRIMARY KEY REFERENCES inbox (id) ON DELETE CASCADE,
        enabled boolean NOT NULL DEFAULT false,
        delay_minutes integer NOT NULL DEFAULT 0 CHECK (delay_minutes BETWEEN 0 AND 4320),
        window_hours integer NOT NULL DEFAULT 168 CHECK (window_hours BETWEEN 1 AND 2160),
        question text NOT NULL DEFAULT '',
        template text NOT NULL DEFAULT '',
        updated_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE csat_survey (
        id bigserial PRIMARY KEY,
        conversation integer NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
        inbox integer NOT NULL REFERENCES inbox (id),
        resolution_event bigint NOT NULL,
        status text NOT NULL DEFAULT 'scheduled'
            CHECK (status IN ('scheduled', 'sent', 'cancelled', 'failed')),
        due_at timestamptz NOT NULL,
        sent_at timestamptz,
        expires_at timestamptz,
        message bigint,
        question text NOT NULL,
        error text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT csat_survey_once UNIQUE (resolution_event))""",
    "CREATE INDEX csat_survey_due_idx ON csat_survey (due_at) WHERE status = 'scheduled'",
    "CREATE INDEX csat_survey_conversation_idx ON csat_survey (conversation, id DESC)",
    """CREATE TABLE csat_response (
        conversation integer PRIMARY KEY REFERENCES conversation (id) ON DELETE CASCADE,
        survey bigint NOT NULL REFERENCES csat_survey (id) ON DELETE CASCADE,
        inbox integer NOT NULL REFERENCES inbox (id),
        rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
        comment text,
        via text NOT NULL,
        answers integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now())""",
    # The list (newest answer first), filtered by inbox and rating.
    "CREATE INDEX csat_response_list_idx ON csat_response (updated_at DESC, conversation DESC)",
    "CREATE INDEX csat_response_inbox_idx ON csat_response (inbox, updated_at DESC)",
    # Existing installations start the subscriber at the present: no surveys about the past.
    "INSERT INTO event_cursor (subscriber, last_id) SELECT 'csat', coalesce(max(id), 0)"
    " FROM event ON CONFLICT DO NOTHING",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
