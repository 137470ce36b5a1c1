"""The Piccolo app holding the hub's tables and migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from hub.db.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="hub",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=list(TABLES),
    migration_dependencies=[],
    commands=[],
)
