"""Migrations made of raw SQL: functions, indexes and settings that Piccolo's columns do not model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from piccolo.apps.migrations.auto.migration_manager import MigrationManager


def sql_migration(
    migration_id: str, description: str, statements: Sequence[str]
) -> Callable[[], Awaitable[MigrationManager]]:
    """The `forwards` of a migration that runs `statements`, one at a time, in order."""

    async def forwards() -> MigrationManager:
        manager = MigrationManager(
            migration_id=migration_id, app_name="hub", description=description
        )

        async def run() -> None:
            from piccolo.engine import engine_finder

            engine = engine_finder()
            assert engine is not None
            for statement in statements:
                await engine.run_ddl(statement)

        manager.add_raw(run)
        return manager

    return forwards
