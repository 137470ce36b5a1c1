"""Settings: read once from the environment (and an optional `.env`) into one frozen struct.

A bad value stops start-up with one sentence that names the variable and what it expects,
because operators read that sentence in a container log, not a traceback.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import msgspec


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message is meant for the operator."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".hub")
    secret_key: str = ""
    public_url: str = "http://127.0.0.1:8000"
    admin_email: str | None = None
    admin_password: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_format: str = "auto"
    worker_concurrency: int = 10
    # Replies of one inbox being sent at once, across every worker: a stalled provider then ties
    # up this many job slots, not all of them, so the other inboxes' replies keep going out.
    outbox_inbox_concurrency: int = 4
    # `hub serve`: web processes sharing one listening socket (uvicorn's workers). Each runs its
    # own relay and, without Redis, its own in-process job worker.
    web_processes: int = 1
    # Connections in each process's database pool (the queue and the fan-out have their own).
    db_pool_size: int = 10
    attachment_max_bytes: int = 25 * 1024 * 1024
    reopen_window_hours: int = 168
    session_max_age: int = 14 * 24 * 3600
    login_max_attempts: int = 5
    login_window_seconds: int = 900
    away_after_seconds: int = 300
    # Automation: how many rules may act on each other's changes in a row before the chain stops.
    automation_max_depth: int = 5
    # Peers (addresses or networks) whose X-Forwarded-For / -Proto are believed. Empty: nobody's,
    # so a client cannot pick its own address for the login throttle and the widget limits.
    trusted_proxies: tuple[str, ...] = ()
    # Channel base URLs (Telegram's, Meta's Graph, Twilio's) on hosts other than the provider's
    # own: for fakes in tests and for gateways. Off, credentials only ever go to the provider.
    allow_custom_provider_urls: bool = False
    # API-channel callbacks to loopback, link-local and private addresses (an integration inside
    # the same network). Off, a callback URL cannot be used to probe the hub's own network.
    allow_private_callback_urls: bool = False
    # Instance secrets before the last rotation: still accepted for reading (decrypting stored
    # settings, checking tokens), never used to write. See `hub rotate-secret`.
    previous_secret_keys: tuple[str, ...] = ()
    # CRM sync (hub.crm): seconds between incremental syncs of each source, and how far before
    # the newest change already read each incremental read starts again.
    splynx_sync_interval: int = 600
    splynx_sync_overlap: int = 300
    crm_phone_region: str = "DK"
    # The account's time zone (IANA name): where report days, weeks and months begin.
    timezone: str = "UTC"
    # The hub's own SMTP server, for mail to agents (notification digests), not to customers.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    notify_email_minutes: int = 10
    # Login (hub.auth): a session ends after this long unused (absolute: HUB_SESSION_MAX_AGE).
    session_idle_seconds: int = 12 * 3600
    # Roles (their key strings) whose agents must use two-factor: until they enrol, a session
    # of theirs may only enrol (the profile page), see itself and log out.
    require_2fa_roles: tuple[str, ...] = ()
    password_reset_seconds: int = 3600
    # OIDC discovery, token and JWKS URLs on loopback/private addresses (a Keycloak inside the
    # network). Off, an admin-typed discovery URL cannot be used to probe the hub's network.
    allow_private_oidc_urls: bool = False
    # Outgoing webhooks (hub.webhooks): attempts per delivery, the first retry's delay (doubling
    # after each failure, at most an hour), failed deliveries in a row before a subscription is
    # disabled, and how long one POST may take.
    webhook_max_attempts: int = 8
    webhook_retry_seconds: int = 10
    webhook_disable_after: int = 5
    webhook_timeout_seconds: int = 10
    # Requests per client address (per web process): a burst, then a steady rate per second.
    webhook_rate_burst: int = 600
    webhook_rate_per_second: int = 100
    widget_rate_burst: int = 300
    widget_rate_per_second: int = 20

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"


def _url(schemes: tuple[str, ...], what: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in schemes or not (parsed.netloc or parsed.query):
            raise ValueError(
                f"a {what} URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        return value

    return parse


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError("a whole number") from None
    if number <= 0:
        raise ValueError("a whole number greater than 0")
    return number


def _port(value: str) -> int:
    number = _positive_int(value)
    if number > 65535:
        raise ValueError("a TCP port between 1 and 65535")
    return number


def _choice(*options: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value.lower() not in options:
            raise ValueError("one of " + ", ".join(options))
        return value.lower()

    return parse


def _email(value: str) -> str:
    if "@" not in value or value.startswith("@") or value.endswith("@"):
        raise ValueError("an email address")
    return value.strip().lower()


def _secret(value: str) -> str:
    if len(value) < 32:
        raise ValueError("a random string of at least 32 characters")
    return value


def _non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError("a whole number") from None
    if number < 0:
        raise ValueError("a whole number, 0 or more")
    return number


def _region(value: str) -> str:
    if len(value) != 2 or not value.isalpha():
        raise ValueError("a two-letter country code such as DK or DE")
    return value.upper()


def _http_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("an http:// or https:// URL")
    return value.rstrip("/")


def _secrets(value: str) -> tuple[str, ...]:
    keys = tuple(part.strip() for part in value.split(",") if part.strip())
    for key in keys:
        _secret(key)
    return keys


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("true or false")


def _networks(value: str) -> tuple[str, ...]:
    import ipaddress

    entries = tuple(part.strip() for part in value.split(",") if part.strip())
    for entry in entries:
        if entry == "*":
            raise ValueError(
                "the proxies' addresses or networks, not '*' (that trusts every client)"
            )
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(
                "a comma-separated list of IP addresses or networks (10.0.0.5, 172.18.0.0/16)"
            ) from None
    return entries


def _keys(value: str) -> tuple[str, ...]:
    keys = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    for key in keys:
        if not key.replace("_", "").replace("-", "").isalnum():
            raise ValueError("a comma-separated list of role keys (admin,supervisor)")
    return keys


def _timezone(value: str) -> str:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError("an IANA time zone name (Europe/Copenhagen, UTC)") from None
    return value


@dataclass(frozen=True)
class Var:
    field: str
    env: str
    parse: Callable[[str], Any]
    secret: bool = False


VARIABLES: tuple[Var, ...] = (
    Var("database_url", "DATABASE_URL", _url(("postgres", "postgresql"), "PostgreSQL"), True),
    Var("redis_url", "REDIS_URL", _url(("redis", "rediss"), "Redis"), True),
    Var("data_dir", "HUB_DATA_DIR", Path),
    Var("secret_key", "HUB_SECRET_KEY", _secret, True),
    Var("public_url", "HUB_PUBLIC_URL", _http_url),
    Var("admin_email", "HUB_ADMIN_EMAIL", _email),
    Var("admin_password", "HUB_ADMIN_PASSWORD", str, True),
    Var("host", "HUB_HOST", str),
    Var("port", "HUB_PORT", _port),
    Var(
        "log_level",
        "HUB_LOG_LEVEL",
        lambda v: _choice("debug", "info", "warning", "error")(v).upper(),
    ),
    Var("log_format", "HUB_LOG_FORMAT", _choice("auto", "json", "text")),
    Var("worker_concurrency", "HUB_WORKER_CONCURRENCY", _positive_int),
    Var("outbox_inbox_concurrency", "HUB_OUTBOX_INBOX_CONCURRENCY", _positive_int),
    Var("web_processes", "HUB_WEB_PROCESSES", _positive_int),
    Var("db_pool_size", "HUB_DB_POOL_SIZE", _positive_int),
    Var("attachment_max_bytes", "HUB_ATTACHMENT_MAX_BYTES", _positive_int),
    Var("reopen_window_hours", "HUB_REOPEN_WINDOW_HOURS", _positive_int),
    Var("session_max_age", "HUB_SESSION_MAX_AGE", _positive_int),
    Var("login_max_attempts", "HUB_LOGIN_MAX_ATTEMPTS", _positive_int),
    Var("login_window_seconds", "HUB_LOGIN_WINDOW_SECONDS", _positive_int),
    Var("away_after_seconds", "HUB_AWAY_AFTER_SECONDS", _positive_int),
    Var("automation_max_depth", "HUB_AUTOMATION_MAX_DEPTH", _positive_int),
    Var("trusted_proxies", "HUB_TRUSTED_PROXIES", _networks),
    Var("allow_custom_provider_urls", "HUB_ALLOW_CUSTOM_PROVIDER_URLS", _bool),
    Var("allow_private_callback_urls", "HUB_ALLOW_PRIVATE_CALLBACK_URLS", _bool),
    Var("previous_secret_keys", "HUB_PREVIOUS_SECRET_KEYS", _secrets, True),
    Var("splynx_sync_interval", "HUB_SPLYNX_SYNC_INTERVAL", _positive_int),
    Var("splynx_sync_overlap", "HUB_SPLYNX_SYNC_OVERLAP", _non_negative_int),
    Var("crm_phone_region", "HUB_CRM_PHONE_REGION", _region),
    Var("timezone", "HUB_TIMEZONE", _timezone),
    Var("smtp_host", "HUB_SMTP_HOST", str),
    Var("smtp_port", "HUB_SMTP_PORT", _port),
    Var("smtp_security", "HUB_SMTP_SECURITY", _choice("starttls", "ssl", "none")),
    Var("smtp_username", "HUB_SMTP_USERNAME", str),
    Var("smtp_password", "HUB_SMTP_PASSWORD", str, True),
    Var("smtp_from", "HUB_SMTP_FROM", _email),
    Var("notify_email_minutes", "HUB_NOTIFY_EMAIL_MINUTES", _positive_int),
    Var("session_idle_seconds", "HUB_SESSION_IDLE_SECONDS", _positive_int),
    Var("require_2fa_roles", "HUB_REQUIRE_2FA_ROLES", _keys),
    Var("password_reset_seconds", "HUB_PASSWORD_RESET_SECONDS", _positive_int),
    Var("allow_private_oidc_urls", "HUB_ALLOW_PRIVATE_OIDC_URLS", _bool),
    Var("webhook_max_attempts", "HUB_WEBHOOK_MAX_ATTEMPTS", _positive_int),
    Var("webhook_retry_seconds", "HUB_WEBHOOK_RETRY_SECONDS", _positive_int),
    Var("webhook_disable_after", "HUB_WEBHOOK_DISABLE_AFTER", _positive_int),
    Var("webhook_timeout_seconds", "HUB_WEBHOOK_TIMEOUT_SECONDS", _positive_int),
    Var("webhook_rate_burst", "HUB_WEBHOOK_RATE_BURST", _positive_int),
    Var("webhook_rate_per_second", "HUB_WEBHOOK_RATE_PER_SECOND", _positive_int),
    Var("widget_rate_burst", "HUB_WIDGET_RATE_BURST", _positive_int),
    Var("widget_rate_per_second", "HUB_WIDGET_RATE_PER_SECOND", _positive_int),
)


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_settings(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None
) -> Settings:
    """Build the settings from `environ` (default: the process environment plus `./.env`).

    Real environment variables win over `.env`. Empty values count as unset.
    """
    if environ is None:
        merged = _read_dotenv(dotenv or Path(".env"))
        merged.update(os.environ)
    else:
        merged = dict(environ)
    values: dict[str, Any] = {}
    for var in VARIABLES:
        raw = merged.get(var.env, "").strip()
        if not raw:
            continue
        try:
            values[var.field] = var.parse(raw)
        except ValueError as exc:
            shown = repr(_mask(raw, url=var.env.endswith("_URL")) if var.secret else raw)
            raise ConfigError(f"{var.env} must be {exc} (got {shown}).") from None
    settings = Settings(**values)
    if not settings.secret_key:
        settings = msgspec.structs.replace(settings, secret_key=_stored_secret(settings.data_dir))
    return settings


def _stored_secret(data_dir: Path) -> str:
    """Generate the instance secret once and keep it in the data folder (mode 0600)."""
    path = data_dir / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process created it first: use theirs (wait for its content).
        for _ in range(50):
            existing = path.read_text().strip()
            if existing:
                return existing
            time.sleep(0.02)
        raise ConfigError(f"{path} exists but is empty; delete it or set HUB_SECRET_KEY") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def masked(settings: Settings) -> dict[str, str]:
    """The effective configuration by variable name, secrets masked, for `hub config`."""
    shown: dict[str, str] = {}
    for var in VARIABLES:
        value = getattr(settings, var.field)
        if value is None:
            text = "(unset)"
        elif isinstance(value, tuple):
            text = ",".join("***" if var.secret else v for v in value) or "(none)"
        elif var.secret:
            text = _mask(str(value), url=var.env.endswith("_URL"))
        else:
            text = str(value)
        shown[var.env] = text
    return shown


def _mask(value: str, *, url: bool) -> str:
    if url:
        parsed = urlparse(value)
        if parsed.password:
            return value.replace(f":{parsed.password}@", ":***@", 1)
        return value
    return "***"
