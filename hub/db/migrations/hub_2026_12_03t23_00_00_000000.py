"""Notifications: per-agent notifications and preferences, presence, email digests, Slack.

`event.agent` marks an event meant for one agent alone (`notification.created`): the agent
socket and the event feed hand it to that agent only. A notification is unique per (triggering
event, agent, kind), which is what makes the `notifications` subscriber idempotent: a batch
redelivered after a crash inserts nothing twice.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-03T23:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications, preferences, agent presence, email digests, Slack threads and posts"

STATEMENTS = [
    "ALTER TABLE event ADD COLUMN agent integer REFERENCES agent (id) ON DELETE CASCADE",
    """CREATE TABLE notification (
        id bigserial PRIMARY KEY,
        agent integer NOT NULL REFERENCES agent (id) ON DELETE CASCADE,
        kind text NOT NULL,
        conversation integer REFERENCES conversation (id) ON DELETE CASCADE,
        event bigint,
        data jsonb NOT NULL DEFAULT '{}'::jsonb,
        in_app boolean NOT NULL DEFAULT true,
        email_status text CHECK (email_status IN ('pending', 'sent', 'skipped')),
        created_at timestamptz NOT NULL DEFAULT now(),
        read_at timestamptz,
        CONSTRAINT notification_once UNIQUE (event, agent, kind))""",
    # The list (newest first), the bell's unread count, and the digest's work list.
    "CREATE INDEX notification_list_idx ON notification (agent, id DESC) WHERE in_app",
    "CREATE INDEX notification_unread_idx ON notification (agent) WHERE in_app AND read_at IS NULL",
    "CREATE INDEX notification_email_idx ON notification (agent, id) WHERE email_status = 'pending'",
    """CREATE TABLE notification_preference (
        agent integer NOT NULL REFERENCES agent (id) ON DELETE CASCADE,
        kind text NOT NULL,
        in_app boolean NOT NULL,
        email boolean NOT NULL,
        PRIMARY KEY (agent, kind))""",
    """CREATE TABLE agent_presence (
        agent integer PRIMARY KEY REFERENCES agent (id) ON DELETE CASCADE,
        seen_at timestamptz NOT NULL)""",
    """CREATE TABLE notification_digest (
        agent integer PRIMARY KEY REFERENCES agent (id) ON DELETE CASCADE,
        sent_at timestamptz NOT NULL)""",
    """CREATE TABLE slack_integration (
        id integer PRIMARY KEY CHECK (id = 1),
        config_encrypted text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE slack_thread (
        conversation integer NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
        channel text NOT NULL,
        thread_ts text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (conversation, channel))""",
    """CREATE TABLE slack_post (
        id bigserial PRIMARY KEY,
        event bigint NOT NULL,
        conversation integer NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
        channel text NOT NULL,
        kind text NOT NULL,
        data jsonb NOT NULL DEFAULT '{}'::jsonb,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        error text NOT NULL DEFAULT '',
        ts text,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        CONSTRAINT slack_post_once UNIQUE (event))""",
    "CREATE INDEX slack_post_pending_idx ON slack_post (next_attempt_at) WHERE status = 'pending'",
    # Existing installations start both subscribers at the present: no notifications about the past.
    "INSERT INTO event_cursor (subscriber, last_id) SELECT 'notifications', coalesce(max(id), 0)"
    " FROM event ON CONFLICT DO NOTHING",
    "INSERT INTO event_cursor (subscriber, last_id) SELECT 'slack', coalesce(max(id), 0)"
    " FROM event ON CONFLICT DO NOTHING",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
