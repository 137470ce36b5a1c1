"""Raw SQL the model needs beyond Piccolo's column types: the ref sequence and hot indexes."""

from hub.db.sql_migration import sql_migration

ID = "2026-11-22T23:16:06:000000"
VERSION = "1.38.0"
DESCRIPTION = "conversation refs from 1000 and core indexes"

STATEMENTS = [
    # Human reference numbers start at 1000 so they never look like list positions.
    "SELECT setval(pg_get_serial_sequence('conversation', 'ref'), 999)",
    "CREATE INDEX IF NOT EXISTS contact_identity_contact_idx ON contact_identity (contact)",
    "CREATE INDEX IF NOT EXISTS message_conversation_idx ON message (conversation, id)",
    "CREATE INDEX IF NOT EXISTS conversation_inbox_contact_idx"
    " ON conversation (inbox, contact, status)",
    "CREATE INDEX IF NOT EXISTS event_conversation_idx ON event (conversation, id)",
    "CREATE INDEX IF NOT EXISTS api_key_agent_idx ON api_key (agent)",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
