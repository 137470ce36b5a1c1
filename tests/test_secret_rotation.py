"""Issue 22.5: the instance secret can be rotated; stored settings name the key that encrypted them."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import httpx

from hub.auth import oidc_providers, totp
from hub.crm import sources
from hub.notifications import slack
from hub.system import crypto, rotation
from hub.system.config import Settings
from hub.webhooks import subscriptions
from tests.conftest import admin_key, make_api_inbox
from tests.test_cli import _env, _run, data_dir  # noqa: F401  (a fixture)

NEW_KEY = "the-new-instance-secret-" + "n" * 30


async def _stored(dsn: str) -> dict[tuple[str, str], list[str]]:
    """Every non-empty value of every registered encrypted column."""
    conn = await asyncpg.connect(dsn)
    try:
        return {
            (c.table, c.column): [
                str(r["v"])
                for r in await conn.fetch(f"SELECT {c.column} v FROM {c.table}")
                if r["v"]
            ]
            for c in rotation.ENCRYPTED_COLUMNS
        }
    finally:
        await conn.close()


async def _one_secret_of_each_kind(client: httpx.AsyncClient, settings: Settings) -> int:
    """Returns the webhook subscription's id."""
    headers = await admin_key(client)
    await make_api_inbox(
        client, headers, callback_url="https://example.com/cb", callback_secret="cs"
    )
    me = (await client.get("/api/v1/auth/me", headers=headers)).json()["agent"]
    await totp.start_enrolment(me["id"], me["email"], secret_key=settings.secret_key)
    # Stored through the hub's own functions: the API would also fetch the provider's discovery
    # document and start a CRM sync, which are beside the point here.
    await oidc_providers.create_provider(
        oidc_providers.NewProvider(
            key="idp",
            name="IdP",
            discovery_url="https://idp.example.com/.well-known/openid-configuration",
            client_id="hub",
            client_secret="oidc-secret",
        ),
        secret_key=settings.secret_key,
        actor_id=me["id"],
    )
    await sources.create_source(
        "splynx",
        "Splynx",
        {
            "base_url": "https://splynx.example.com",
            "api_key": "crm-key",
            "api_secret": "crm-secret",
            "hook_secret": "crm-hook",
        },
        secret_key=settings.secret_key,
        phone_region=None,
    )
    webhook = await client.post(
        "/api/v1/webhook-subscriptions",
        headers=headers,
        json={
            "name": "out",
            "url": "https://example.com/hook",
            "event_types": ["message.created"],
            "secret": "webhook-secret-0123456789",
        },
    )
    assert webhook.status_code == 201, webhook.text
    slack = await client.put(
        "/api/v1/integrations/slack",
        headers=headers,
        json={"bot_token": "xoxb-slack", "default_channel": "C1"},
    )
    assert slack.status_code == 200, slack.text
    return int(webhook.json()["id"])


async def test_rotate_secret_re_encrypts_every_stored_secret(
    client: httpx.AsyncClient,
    settings: Settings,
    data_dir: Path,  # noqa: F811  (the fixture of tests.test_cli)
) -> None:
    subscription_id = await _one_secret_of_each_kind(client, settings)
    old_key = settings.secret_key
    before = await _stored(settings.database_url or "")
    for where, values in before.items():
        assert len(values) == 1, where  # one secret of each kind, so each kind is checked
        assert crypto.encrypted_with(values[0]) == crypto.key_id(old_key), where
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
    assert f"re-encrypted with key id {crypto.key_id(NEW_KEY)}" in result.stdout
    for column in rotation.ENCRYPTED_COLUMNS:
        assert f"{column.what}: 1 re-encrypted, 0 already current" in result.stdout
    after = await _stored(settings.database_url or "")
    crypto.use_previous_keys(())  # the old key removed: only the new one reads
    plain = {where: crypto.decrypt_json(NEW_KEY, v) for where, [v] in after.items()}
    assert all(crypto.encrypted_with(v) == crypto.key_id(NEW_KEY) for [v] in after.values())
    assert plain[("inbox", "config_encrypted")]["callback_secret"] == "cs"
    assert plain[("agent_totp", "secret_encrypted")]["secret"]
    assert plain[("oidc_provider", "secret_encrypted")] == {"secret": "oidc-secret"}
    assert plain[("crm_source", "config_encrypted")]["api_secret"] == "crm-secret"
    assert plain[("crm_source", "config_encrypted")]["hook_secret"] == "crm-hook"
    assert plain[("slack_integration", "config_encrypted")]["bot_token"] == "xoxb-slack"
    assert plain[("webhook_subscription", "secret_encrypted")] == {
        "secret": "webhook-secret-0123456789"
    }
    # The hub itself reads them with the new key alone.
    sub = await subscriptions.get(subscription_id)
    assert subscriptions.secret_of(sub, NEW_KEY) == "webhook-secret-0123456789"
    slack_config = await slack.load_config(NEW_KEY)
    assert slack_config is not None and slack_config.bot_token == "xoxb-slack"
    provider = await oidc_providers.get_provider("idp", secret_key=NEW_KEY)
    assert provider["client_secret"] == "oidc-secret"

    again = _run(
        "rotate-secret",
        env=_env(
            HUB_DATA_DIR=str(data_dir),
            DATABASE_URL=settings.database_url or "",
            HUB_SECRET_KEY=NEW_KEY,
        ),
    )
    assert again.returncode == 0, again.stderr
    assert "webhook secrets: 0 re-encrypted, 1 already current" in again.stdout


async def test_every_encrypted_column_is_rotated(clean_db: str) -> None:
    """A new `*_encrypted` column (the naming rule for values stored with hub.system.crypto) must
    be in rotation.ENCRYPTED_COLUMNS, or `hub rotate-secret` would leave it on the old key."""
    conn = await asyncpg.connect(clean_db)
    try:
        found = {
            (r["table_name"], r["column_name"])
            for r in await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND column_name LIKE '%encrypt%'"
            )
        }
        keys = {
            r["t"]: r["k"]
            for r in await conn.fetch(
                "SELECT c.conrelid::regclass::text t, a.attname k FROM pg_constraint c"
                " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
                " WHERE c.contype = 'p' AND array_length(c.conkey, 1) = 1"
            )
        }
    finally:
        await conn.close()
    registered = {(c.table, c.column) for c in rotation.ENCRYPTED_COLUMNS}
    assert found == registered
    for column in rotation.ENCRYPTED_COLUMNS:
        assert keys[column.table] == column.key, column


def test_code_that_encrypts_writes_a_registered_column() -> None:
    """The other half of the check: every module calling encrypt_json writes `*_encrypted`
    columns only, all registered (a value encrypted into a column named otherwise would escape
    the column check above)."""
    root = Path(__file__).resolve().parent.parent
    columns = {c.column for c in rotation.ENCRYPTED_COLUMNS}
    writers = []
    for package in ("hub", "adapters", "web"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text()
            if path.name in ("crypto.py", "rotation.py") or "encrypt_json(" not in text:
                continue
            writers.append(path.name)
            named = set(re.findall(r"\b\w+_encrypted\b", text))
            assert named and named <= columns, f"{path.relative_to(root)}: {named}"
    assert "slack.py" in writers and "subscriptions.py" in writers  # the scan sees them


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
