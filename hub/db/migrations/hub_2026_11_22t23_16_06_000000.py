"""Raw SQL the model needs beyond Piccolo's column types: the ref sequence and hot indexes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

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


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="hub", description=DESCRIPTION)

    async def run() -> None:
        from piccolo.engine import engine_finder

        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
