"""`hub rotate-secret`: re-encrypt every value stored with the instance secret (hub.system.crypto).

ENCRYPTED_COLUMNS is the one list of such columns. A column left out of it keeps its old key id
and becomes unreadable once the previous secret is removed from HUB_PREVIOUS_SECRET_KEYS, so
tests/test_secret_rotation.py compares it with every `*_encrypted` column of the migrated
database: a new encrypted column must be added here (or renamed) before the tests pass.
"""

from __future__ import annotations

from typing import NamedTuple

from hub.db.engine import connection_pool
from hub.system.crypto import decrypt_json, encrypt_json, encrypted_with, key_id


class EncryptedColumn(NamedTuple):
    table: str
    key: str  # the primary key, to write the row back
    column: str
    what: str  # for the command's report


ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn("inbox", "id", "config_encrypted", "inbox settings"),
    EncryptedColumn("agent_totp", "agent", "secret_encrypted", "two-factor seeds"),
    EncryptedColumn("oidc_provider", "id", "secret_encrypted", "OIDC client secrets"),
    EncryptedColumn("crm_source", "id", "config_encrypted", "CRM source settings"),
    EncryptedColumn("slack_integration", "id", "config_encrypted", "Slack settings"),
    EncryptedColumn("webhook_subscription", "id", "secret_encrypted", "webhook secrets"),
)


class Rotated(NamedTuple):
    column: EncryptedColumn
    changed: int
    already_current: int


async def reencrypt_all(secret_key: str) -> list[Rotated]:
    """Re-encrypt every stored value not written with the current secret's key id.

    One transaction over all the columns: if any value can be decrypted with none of the current
    and previous secrets, nothing changes (decrypt_json's ValueError names the missing key id).
    """
    current_id = key_id(secret_key)
    report: list[Rotated] = []
    async with connection_pool().acquire() as conn, conn.transaction():
        for entry in ENCRYPTED_COLUMNS:
            rows = await conn.fetch(
                f"SELECT {entry.key} AS k, {entry.column} AS v FROM {entry.table}"
                f" ORDER BY {entry.key} FOR UPDATE"
            )
            changed = 0
            for row in rows:
                stored = str(row["v"] or "")
                # An empty value is "nothing configured" (inbox and CRM settings default to '').
                if not stored or encrypted_with(stored) == current_id:
                    continue
                await conn.execute(
                    f"UPDATE {entry.table} SET {entry.column} = $2 WHERE {entry.key} = $1",
                    row["k"],
                    encrypt_json(secret_key, decrypt_json(secret_key, stored)),
                )
                changed += 1
            report.append(Rotated(entry, changed, len(rows) - changed))
    return report
