"""The `hub` command: serve, worker, migrate, createadmin, config, demo, crm, reports."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
import uvicorn

import hub.domains  # noqa: F401  (registers every domain's jobs before a worker starts)
from hub.system.config import ConfigError, Settings, load_settings, masked

T = TypeVar("T")


def _fail(message: str) -> None:
    click.echo(f"hub: {message}", err=True)
    sys.exit(2)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


def _run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


async def _check_reachable(settings: Settings) -> None:
    """Fail fast, in one sentence, when the database or Redis cannot be reached."""
    import asyncpg

    from hub.system.runtime import resolve

    backends = resolve(settings)
    try:
        conn = await asyncio.wait_for(asyncpg.connect(backends.database_dsn), timeout=10)
        await conn.close()
    except Exception as exc:
        where = "DATABASE_URL" if settings.database_url else "the embedded PostgreSQL"
        _fail(f"cannot connect to {where}: {type(exc).__name__}: {exc}".rstrip(": "))
    if settings.redis_url:
        from redis.asyncio import Redis

        client = Redis.from_url(settings.redis_url)
        try:
            await asyncio.wait_for(client.ping(), timeout=5)
        except Exception as exc:
            _fail(f"cannot connect to REDIS_URL: {type(exc).__name__}: {exc}")
        finally:
            await client.aclose()


async def _with_services(
    settings: Settings, body: Callable[[], Awaitable[T]], *, migrate: bool = False
) -> T:
    from hub.system import services

    await services.start(settings, apply_migrations=migrate)
    try:
        return await body()
    finally:
        await services.stop()


class GracefulServer(uvicorn.Server):
    """uvicorn's server, minus re-raising SIGTERM after shutdown.

    Re-raising kills the process before `atexit` runs, which would leave the embedded PostgreSQL
    running; after a graceful shutdown the process simply exits 0.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@click.group()
def main() -> None:
    """Hub: every support channel in one inbox."""


@main.command()
@click.option("--host", default=None, help="Address to bind (default HUB_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default HUB_PORT or 8000).")
@click.option(
    "--with-worker", is_flag=True, help="Run a worker inside the web process even with REDIS_URL."
)
@click.option("--demo", is_flag=True, help="Load the demo data set first and print its logins.")
@click.option(
    "--processes",
    default=None,
    type=click.IntRange(min=1),
    help="Web processes sharing the port (default HUB_WEB_PROCESSES or 1).",
)
def serve(
    host: str | None, port: int | None, with_worker: bool, demo: bool, processes: int | None
) -> None:
    """Run the web app (applying pending migrations first)."""
    from web import app as web_app
    from web.logs import configure

    settings = _settings()
    configure(settings.log_level, settings.log_format)
    _run(_check_reachable(settings))
    from hub.db.migrate import migrate
    from hub.system.runtime import resolve

    _run(migrate(resolve(settings).database_dsn))
    if demo:
        from hub.demo.seed import load_demo

        _run(_with_services(settings, load_demo))
    if os.environ.get("FORWARDED_ALLOW_IPS"):
        click.echo(
            "FORWARDED_ALLOW_IPS is no longer read: list your proxies in HUB_TRUSTED_PROXIES",
            err=True,
        )
    bind_host = host or settings.host
    bind_port = port or settings.port
    processes = processes or settings.web_processes
    run_worker = True if with_worker else None
    url = f"http://{bind_host}:{bind_port}"
    click.echo(
        f"Hub is starting at {url}  (public URL {settings.public_url})"
        + (f", {processes} web processes" if processes > 1 else "")
    )
    if demo:
        _print_demo_logins()
    app: Any
    if processes > 1:
        # Each process builds its own app: uvicorn pickles this factory (a partial of a module
        # function) to the processes it spawns; the migrations ran here, once.
        app = functools.partial(web_app.create_serve_app, run_worker=run_worker)
    else:
        app = web_app.create_app(settings, run_worker=run_worker, apply_migrations=False)
    config = uvicorn.Config(
        app,
        factory=processes > 1,
        workers=processes,
        host=bind_host,
        port=bind_port,
        log_config=None,
        # The app decides whom to believe (HUB_TRUSTED_PROXIES, web/proxies.py); uvicorn's own
        # handling would trust FORWARDED_ALLOW_IPS, which compose used to set to "*".
        proxy_headers=False,
        timeout_graceful_shutdown=20,
        ws="websockets-sansio",
        # Chat frames are small: zlib state per socket doubled widget-socket memory (34 -> 70 KB).
        ws_per_message_deflate=False,
        # A spawned process imports the whole app before it answers the supervisor's health
        # check: on a busy machine that takes longer than uvicorn's 5 s, and it was restarted.
        timeout_worker_healthcheck=60,
    )
    if processes > 1:
        # One listening socket, bound here and shared by the processes (each connection goes to
        # whichever accepts it first); uvicorn's supervisor restarts a process that dies and
        # stops them all on SIGTERM. This process keeps the embedded PostgreSQL until they end.
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        GracefulServer(config).run()


@main.command()
@click.option(
    "--concurrency",
    default=None,
    type=int,
    help="Jobs run at once (default HUB_WORKER_CONCURRENCY).",
)
def worker(concurrency: int | None) -> None:
    """Run a SAQ worker: outbound sends, polling, timers."""
    from web.logs import configure

    settings = _settings()
    configure(settings.log_level, settings.log_format)
    _run(_check_reachable(settings))
    _run(_worker(settings, concurrency))


async def _worker(settings: Settings, concurrency: int | None) -> None:
    import msgspec

    from hub.system import services

    if concurrency:
        settings = msgspec.structs.replace(settings, worker_concurrency=concurrency)
    running = await services.start(settings)
    worker = services.make_worker(running)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(worker.stop()))
    click.echo(
        f"hub worker {worker.id} consuming {(settings.redis_url and 'Redis') or 'PostgreSQL'} queue",
        err=True,
    )
    try:
        await worker.start()
    finally:
        await services.stop()


@main.command()
def migrate() -> None:
    """Apply pending database migrations."""
    from hub.db.migrate import migrate as run_migrations
    from hub.system.runtime import resolve

    settings = _settings()
    _run(_check_reachable(settings))
    applied = _run(run_migrations(resolve(settings).database_dsn))
    click.echo(
        f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else "")
    )


@main.command()
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--name", default="")
def createadmin(email: str, password: str, name: str) -> None:
    """Create an admin (or reset the password of an existing agent and make it admin)."""
    from hub.auth import accounts
    from hub.auth.permissions import Role

    settings = _settings()
    _run(_check_reachable(settings))

    async def body() -> Any:
        return await accounts.create_agent(email, password, name=name, role=Role.ADMIN)

    try:
        agent = _run(_with_services(settings, body, migrate=True))
    except ValueError as exc:
        _fail(str(exc))
    click.echo(f"admin {agent.email} (id {agent.id}) is ready")


@main.command("rotate-secret")
def rotate_secret() -> None:
    """Re-encrypt every stored secret (inbox, CRM and Slack settings, webhook secrets, two-factor
    seeds, OIDC client secrets) with the current HUB_SECRET_KEY.

    Rotate by setting the new secret in HUB_SECRET_KEY and the old one in
    HUB_PREVIOUS_SECRET_KEYS, then run this once. Keep the old one listed while tokens signed
    with it should still work (chat links last 30 days), then remove it.
    """
    from hub.system import rotation
    from hub.system.crypto import key_id

    settings = _settings()
    _run(_check_reachable(settings))

    async def body() -> list[rotation.Rotated]:
        return await rotation.reencrypt_all(settings.secret_key)

    try:
        report = _run(_with_services(settings, body, migrate=True))
    except ValueError as exc:
        _fail(str(exc))
    click.echo(f"re-encrypted with key id {key_id(settings.secret_key)}:")
    for done in report:
        click.echo(
            f"  {done.column.what}: {done.changed} re-encrypted,"
            f" {done.already_current} already current"
        )


@main.command()
def config() -> None:
    """Print the effective configuration, secrets masked."""
    settings = _settings()
    for name, value in masked(settings).items():
        click.echo(f"{name}={value}")


def _print_demo_logins() -> None:
    from hub.demo.seed import DEMO_LOGINS, DEMO_TOTP_SECRETS

    for role, (email, password) in DEMO_LOGINS.items():
        click.echo(f"  demo {role}: {email} / {password}")
        if role in DEMO_TOTP_SECRETS:
            click.echo(
                f"    two-factor on: TOTP key {DEMO_TOTP_SECRETS[role]} (any authenticator app)"
            )


@main.command()
def demo() -> None:
    """Load the demo data set (idempotent) and print its logins."""
    from hub.demo.seed import load_demo

    settings = _settings()
    _run(_check_reachable(settings))
    created = _run(_with_services(settings, load_demo, migrate=True))
    click.echo("demo data loaded" if created else "demo data already present")
    _print_demo_logins()


@main.group()
def email() -> None:
    """Email channel tools."""


@email.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--inbox", "inbox_id", required=True, type=int, help="The email inbox to import into."
)
def email_import(path: Path, inbox_id: int) -> None:
    """Import an mbox file or a Maildir folder into an email inbox, threaded (safe to re-run)."""
    from adapters.email.importer import run_import

    settings = _settings()
    _run(_check_reachable(settings))
    bar: Any = None

    def on_total(total: int) -> None:
        nonlocal bar
        bar = click.progressbar(length=total, label=f"Importing {path.name}", file=sys.stderr)
        bar.__enter__()

    async def body() -> Any:
        return await run_import(inbox_id, path, progress=lambda n: bar.update(n), on_total=on_total)

    try:
        report = _run(_with_services(settings, body, migrate=True))
    except ValueError as exc:
        _fail(str(exc))
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    click.echo(
        f"{report.messages} messages: {report.stored} stored, {report.duplicates} already there,"
        f" {report.conversations_created} new conversations, {report.bounces} bounces,"
        f" {report.skipped} skipped (sent by the inbox itself), {len(report.errors)} errors"
    )
    for error in report.errors[:20]:
        click.echo(f"  error: {error}", err=True)


def _register_crm() -> None:
    from web.crm_cli import register

    register(main, _settings, _check_reachable)


def _register_reports() -> None:
    from web.reports_cli import register

    register(main, _settings, _check_reachable)


_register_crm()
_register_reports()
