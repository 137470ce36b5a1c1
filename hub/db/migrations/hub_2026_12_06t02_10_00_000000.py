"""The longest-waiting order for every status, not only open.

`conversation_waiting_idx` was partial on `status = 'open'`, so the inbox sorted by waiting
time with "all statuses" sorted every waiting row (670 ms p50 at 1M conversations). Without
the status in its predicate it serves both; the open-only readers (the list, the automation's
"no agent reply" trigger) filter the few non-open rows on the way. Same number of indexes.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-06T02:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "waiting-time index for every status"

STATEMENTS = [
    "DROP INDEX IF EXISTS conversation_waiting_idx",
    "CREATE INDEX conversation_waiting_idx ON conversation (waiting_since, id)"
    " WHERE waiting_since IS NOT NULL",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
