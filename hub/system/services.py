"""The process-wide services (database pool, queue, fan-out), started once per process.

The web app, the standalone worker and the CLI all start the hub through `start()`, so every
process is wired the same way from the same settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from saq import Queue

from hub.auth import accounts, roles
from hub.auth.permissions import Role
from hub.db import engine
from hub.db.migrate import migrate
from hub.jobs.registry import make_queue
from hub.jobs.worker import HubWorker, worker_options
from hub.realtime.fanout import Fanout
from hub.system import crypto, ttlcache
from hub.system.config import Settings
from hub.system.runtime import Backends, resolve

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    backends: Backends
    queue: Queue
    fanout: Fanout
    worker: HubWorker | None = None
    _worker_task: asyncio.Task[None] | None = field(default=None, repr=False)


_current: Services | None = None
# What a domain runs in the background (committers, notifiers) registers how to stop it; the
# hooks run last-registered first, so a domain stops before what it was built on.
_stop_hooks: list[Callable[[], Awaitable[None]]] = []


def on_stop(hook: Callable[[], Awaitable[None]]) -> None:
    if hook not in _stop_hooks:
        _stop_hooks.append(hook)


def current() -> Services:
    if _current is None:
        raise RuntimeError("the hub's services are not started in this process")
    return _current


async def start(
    settings: Settings, *, apply_migrations: bool = False, run_worker: bool = False
) -> Services:
    global _current
    ttlcache.clear_all()
    crypto.use_previous_keys(settings.previous_secret_keys)
    backends = resolve(settings)
    if apply_migrations:
        applied = await migrate(backends.database_dsn)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
    await engine.start(
        backends.database_dsn,
        min_size=min(2, settings.db_pool_size),
        max_size=settings.db_pool_size,
    )
    queue = make_queue(backends.queue_url)
    await queue.connect()
    fanout = Fanout(backends.fanout_url)
    await fanout.start()
    services = Services(settings, backends, queue, fanout)
    _current = services
    settings.attachments_dir.mkdir(parents=True, exist_ok=True)
    await roles.ensure_system_roles()  # agents reference them; a restored dump may lack them
    if settings.admin_email and settings.admin_password and not await accounts.has_admin():
        await accounts.create_agent(settings.admin_email, settings.admin_password, role=Role.ADMIN)
        log.info("created the first admin %s from HUB_ADMIN_EMAIL", settings.admin_email)
    if run_worker:
        services.worker = make_worker(services)
        services._worker_task = asyncio.create_task(services.worker.start())
    return services


def make_worker(services: Services) -> HubWorker:
    return HubWorker(
        services.queue, concurrency=services.settings.worker_concurrency, **worker_options()
    )


async def stop() -> None:
    global _current
    services = _current
    if services is None:
        return
    if services.worker is not None:
        await services.worker.stop()
        if services._worker_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await services._worker_task
    for hook in reversed(_stop_hooks):
        await hook()
    await services.fanout.stop()
    await services.queue.disconnect()
    await engine.stop()
    _current = None
