"""`hub crm …`: CRM commands for operators (the sync with a progress bar per entity)."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from hub.system.config import Settings


class _Bars:
    """One bar per entity, added when the sync starts reading it (with the CRM's count)."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, entity: str, records: int, total: int | None) -> None:
        if entity not in self.tasks:
            self.tasks[entity] = self.bar.add_task(entity, total=total)
        self.bar.advance(self.tasks[entity], records)


async def _sync_all(
    settings: Settings, source_id: int | None, full: bool, console: Console
) -> list[dict[str, Any]]:
    from hub.crm import sources, sync
    from hub.system import services

    await services.start(settings, apply_migrations=True)
    try:
        rows = [r for r in await sources.list_sources() if not r["demo"]]
        if source_id is not None:
            rows = [r for r in rows if r["id"] == source_id]
            if not rows:
                raise click.ClickException(f"no active CRM source {source_id}")
        if not rows:
            raise click.ClickException("no CRM source is connected (POST /api/v1/crm/sources)")
        finished = []
        for row in rows:
            with Progress(
                TextColumn(f"[bold]{row['name']}[/] {{task.description:>9}}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("records"),
                TimeElapsedColumn(),
                console=console,
            ) as bar:
                run = await sync.run_sync(
                    int(row["id"]),
                    full=full,
                    secret_key=settings.secret_key,
                    overlap=dt.timedelta(seconds=settings.splynx_sync_overlap),
                    trigger="cli",
                    progress=_Bars(bar),
                )
            finished.append(run)
        return finished
    finally:
        await services.stop()


def register(main: click.Group, settings_of: Any, check: Any) -> None:
    """Add the `crm` group to the `hub` command."""

    @main.group()
    def crm() -> None:
        """CRM sync (Splynx)."""

    @crm.command("sync")
    @click.option(
        "--full",
        is_flag=True,
        help="Read every record (else only what changed since the last sync).",
    )
    @click.option(
        "--source", "source_id", type=int, default=None, help="One CRM source (default: all)."
    )
    def crm_sync(full: bool, source_id: int | None) -> None:
        """Sync CRM customers, services, invoices and tickets now, showing records per entity."""
        settings = settings_of()
        asyncio.run(check(settings))
        console = Console(stderr=True)
        runs = asyncio.run(_sync_all(settings, source_id, full, console))
        failed = False
        for run in runs:
            counts = ", ".join(
                f"{entity} {c['fetched']} read / {c['changed']} changed / {c['bad']} unreadable / {c['deleted']} deleted"
                for entity, c in run["counts"].items()
            )
            click.echo(
                f"run {run['id']} ({run['mode']}) {run['status']}: {counts or 'nothing read'}"
            )
            if run["error"]:
                failed = True
                click.echo(f"  error: {run['error']}", err=True)
        sys.exit(1 if failed else 0)
