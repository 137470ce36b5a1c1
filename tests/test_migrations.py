import asyncpg

from hub.db.migrate import migrate


async def test_migrations_are_applied_once_and_create_the_model(database: str) -> None:
    assert await migrate(database) == []  # the session fixture already applied them all
    conn = await asyncpg.connect(database)
    try:
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
        unique = await conn.fetch(
            "SELECT conname FROM pg_constraint WHERE contype = 'u' AND conname LIKE 'uq_%' ORDER BY conname"
        )
    finally:
        await conn.close()
    for table in (
        "agent", "team", "team_member", "inbox", "inbox_member", "contact", "contact_identity",
        "conversation", "message", "attachment", "tag", "conversation_tag", "event", "audit_log",
        "api_key", "agent_session", "visitor_revocation",
    ):  # fmt: skip
        assert table in tables
    assert [r["conname"] for r in unique] == [
        "uq_conversation_tag",
        "uq_identity",
        "uq_inbox_member",
        "uq_message_provider_id",
        "uq_team_member",
    ]
