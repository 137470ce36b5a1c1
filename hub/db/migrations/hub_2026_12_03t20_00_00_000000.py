"""Revocable widget visitor tokens.

Visitor tokens are stateless (signed by the instance secret), so revoking one needs a small list:
a row per visitor address with a generation. A token carries the generation it was issued under;
revoking a visitor's tokens increments it, and every older token stops working. Visitors without
a row are at generation 0, which is what tokens issued before this migration carry.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-03T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "visitor token revocation list"

STATEMENTS = [
    """
    CREATE TABLE visitor_revocation (
        address text PRIMARY KEY,
        generation integer NOT NULL DEFAULT 0,
        revoked_at timestamptz NOT NULL DEFAULT now()
    )
    """,
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
