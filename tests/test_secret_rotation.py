"""Issue 22.5: the instance secret can be rotated; stored settings name the key that encrypted them."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx

from hub.system import crypto
from hub.system.config import Settings
from tests.conftest import admin_key, make_api_inbox
from tests.test_cli import _env, _run, data_dir  # noqa: F401  (a fixture)

NEW_KEY = "the-new-instance-secret-" + "n" * 30


async def _stored(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [str(r["c"]) for r in await conn.fetch("SELECT config_encrypted c FROM inbox")]
    finally:
        await conn.close()


async def test_rotate_secret_re_encrypts_stored_settings(
    client: httpx.AsyncClient,
    settings: Settings,
    data_dir: Path,  # noqa: F811  (the fixture of tests.test_cli)
) -> None:
    headers = await admin_key(client)
    await make_api_inbox(
        client, headers, callback_url="https://example.com/cb", callback_secret="cs"
    )
    from hub.auth import totp

    me = (await client.get("/api/v1/auth/me", headers=headers)).json()["agent"]
    await totp.start_enrolment(me["id"], me["email"], secret_key=settings.secret_key)
    old_key = settings.secret_key
    [before] = await _stored(settings.database_url or "")
    assert crypto.encrypted_with(before) == crypto.key_id(old_key)
    result = _run(
        "rotate-secret",
        env=_env(
            HUB_DATA_DIR=str(data_dir),
            DATABASE_URL=settings.database_url or "",
            HUB_SECRET_KEY=NEW_KEY,
            HUB_PREVIOUS_SECRET_KEYS=old_key,
        ),
    )
    assert result.returncode == 0, result.stderr
    assert f"re-encrypted 1 inbox setting(s) with key id {crypto.key_id(NEW_KEY)}" in result.stdout
    assert "re-encrypted 1 login secret(s)" in result.stdout
    [after] = await _stored(settings.database_url or "")
    assert crypto.encrypted_with(after) == crypto.key_id(NEW_KEY)
    crypto.use_previous_keys(())
    assert crypto.decrypt_json(NEW_KEY, after)["callback_secret"] == "cs"
    conn = await asyncpg.connect(settings.database_url)
    try:
        seed = await conn.fetchval("SELECT secret_encrypted FROM agent_totp")
    finally:
        await conn.close()
    assert crypto.encrypted_with(seed) == crypto.key_id(NEW_KEY)


def test_previous_keys_are_read_never_written() -> None:
    old = "o" * 40
    legacy = crypto._fernet(old).encrypt(b'{"token": "t"}').decode()  # before key ids existed
    signed = crypto.sign(old, "widget-visitor", b"body")
    try:
        crypto.use_previous_keys((old,))
        assert crypto.decrypt_json(NEW_KEY, legacy) == {"token": "t"}
        assert crypto.verify(NEW_KEY, "widget-visitor", b"body", signed)
        assert crypto.encrypted_with(crypto.encrypt_json(NEW_KEY, {})) == crypto.key_id(NEW_KEY)
        crypto.use_previous_keys(())
        assert not crypto.verify(NEW_KEY, "widget-visitor", b"body", signed)
        try:
            crypto.decrypt_json(NEW_KEY, crypto.encrypt_json(old, {"a": 1}))
        except ValueError as exc:
            assert crypto.key_id(old) in str(exc) and "HUB_PREVIOUS_SECRET_KEYS" in str(exc)
        else:
            raise AssertionError("decrypted with the wrong key")
    finally:
        crypto.use_previous_keys(())
