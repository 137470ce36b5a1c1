"""Finer statistics for the message full-text index, so rare words are estimated as rare."""

from hub.db.sql_migration import sql_migration

ID = "2026-11-23T01:15:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "statistics target 1000 on message_fts_idx"

# Without it every word missing from the statistics is estimated at ~2,400 matches, and a search
# for a rare word plus a status filter scanned every open conversation (bench/README.md).
STATEMENTS = [
    "ALTER INDEX message_fts_idx ALTER COLUMN 1 SET STATISTICS 1000",
    # Only a table that holds rows: ANALYZE of an empty table records "0 rows", and plans cached
    # while the table is still small (hub_ingest's plpgsql statements keep their generic plan for
    # the connection's life) then scan it sequentially: 1.6 ms per lookup at 9,000 messages.
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM message) THEN ANALYZE message; END IF; END $$",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
