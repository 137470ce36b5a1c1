"""`hub rotate-secret` for the login's stored secrets: TOTP seeds and OIDC client secrets,
re-encrypted with the current instance secret like inbox settings (hub.channels.inboxes)."""

from __future__ import annotations

from hub.db.engine import connection_pool
from hub.system.crypto import decrypt_json, encrypt_json, encrypted_with, key_id

# (table, key column, encrypted column)
_STORED = (("agent_totp", "agent", "secret_encrypted"), ("oidc_provider", "id", "secret_encrypted"))


async def reencrypt_all(secret_key: str) -> int:
    """How many values were re-encrypted. One transaction: all or nothing."""
    current_id = key_id(secret_key)
    changed = 0
    async with connection_pool().acquire() as conn, conn.transaction():
        for table, key, column in _STORED:
            rows = await conn.fetch(f"SELECT {key} AS k, {column} AS v FROM {table} FOR UPDATE")
            for row in rows:
                stored = str(row["v"])
                if encrypted_with(stored) == current_id:
                    continue
                await conn.execute(
                    f"UPDATE {table} SET {column} = $2 WHERE {key} = $1",
                    row["k"],
                    encrypt_json(secret_key, decrypt_json(secret_key, stored)),
                )
                changed += 1
    return changed
