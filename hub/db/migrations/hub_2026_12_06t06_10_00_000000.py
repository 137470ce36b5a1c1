"""`conversations.delete` leaves the permission catalogue: no route ever used it.

Deleting a conversation is not offered yet (it has to reach the event log, attachment files,
report rollups and merge records; see docs/access.md). Custom roles that were granted the
permission lose it here, so the roles page does not show a right that grants nothing; the
permission cache already ignored names it does not know.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-06T06:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "drop the unused conversations.delete permission from custom roles"

STATEMENTS = [
    "UPDATE role SET permissions = array_remove(permissions, 'conversations.delete'),"
    " updated_at = now() WHERE 'conversations.delete' = ANY (permissions)",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
