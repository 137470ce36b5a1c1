from pathlib import Path

import pytest

from hub.system.config import ConfigError, load_settings, masked


def test_defaults_need_no_environment(tmp_path: Path) -> None:
    settings = load_settings({"HUB_DATA_DIR": str(tmp_path)})
    assert settings.database_url is None and settings.embedded_database
    assert settings.redis_url is None
    assert settings.port == 8000
    # The secret is generated once and kept in the data folder with owner-only access.
    assert len(settings.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert load_settings({"HUB_DATA_DIR": str(tmp_path)}).secret_key == settings.secret_key


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL must be a PostgreSQL URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL must be a Redis URL"),
        ({"HUB_PORT": "eighty"}, "HUB_PORT must be a whole number (got 'eighty')."),
        ({"HUB_PORT": "70000"}, "HUB_PORT must be a TCP port"),
        ({"HUB_SECRET_KEY": "short"}, "HUB_SECRET_KEY must be a random string of at least 32"),
        ({"HUB_PUBLIC_URL": "example.com"}, "HUB_PUBLIC_URL must be an http:// or https:// URL"),
        ({"HUB_LOG_FORMAT": "xml"}, "HUB_LOG_FORMAT must be one of auto, json, text"),
        ({"HUB_TRUSTED_PROXIES": "*"}, "HUB_TRUSTED_PROXIES must be the proxies' addresses"),
        ({"HUB_TRUSTED_PROXIES": "proxy"}, "HUB_TRUSTED_PROXIES must be a comma-separated list"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], expected: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"HUB_DATA_DIR": str(tmp_path), **env})
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def test_secret_values_are_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"HUB_DATA_DIR": str(tmp_path), "HUB_SECRET_KEY": "hunter2"})
    assert "hunter2" not in str(info.value)


def test_masked_configuration_hides_secrets(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "HUB_DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgresql://hub:s3cret@db:5432/hub",
            "HUB_SECRET_KEY": "k" * 40,
            "HUB_ADMIN_PASSWORD": "admin-password",
        }
    )
    shown = masked(settings)
    assert shown["DATABASE_URL"] == "postgresql://hub:***@db:5432/hub"
    assert shown["HUB_SECRET_KEY"] == "***"
    assert shown["HUB_ADMIN_PASSWORD"] == "***"
    assert shown["REDIS_URL"] == "(unset)"
    assert "s3cret" not in repr(shown) and "k" * 40 not in repr(shown)


def test_dotenv_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"HUB_PORT=9001\nHUB_HOST=0.0.0.0\nHUB_DATA_DIR={tmp_path}\n")
    monkeypatch.setenv("HUB_HOST", "127.0.0.2")
    settings = load_settings(dotenv=dotenv)
    assert settings.port == 9001
    assert settings.host == "127.0.0.2"
