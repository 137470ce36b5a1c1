"""The audit log refuses TRUNCATE too.

The row trigger of 2026-12-04T02:40 refuses UPDATE and DELETE; TRUNCATE fires no row triggers,
so one statement emptied the log. A statement-level BEFORE TRUNCATE trigger with the same
function closes that. A superuser can
still switch triggers off (session_replication_role, ALTER TABLE … DISABLE TRIGGER): the log
protects against the application's own role, not against the database's owner.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-06T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit log: refuse TRUNCATE"

STATEMENTS = [
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
