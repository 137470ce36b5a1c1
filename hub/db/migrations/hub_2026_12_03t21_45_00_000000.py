"""Agent invitations: a one-time link to set the first password, stored only as a hash."""

from hub.db.sql_migration import sql_migration

ID = "2026-12-03T21:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "agent invitations"

STATEMENTS = [
    """CREATE TABLE agent_invite (
        id bigserial PRIMARY KEY,
        agent integer NOT NULL REFERENCES agent (id) ON DELETE CASCADE,
        token_sha256 text NOT NULL UNIQUE,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now())""",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
