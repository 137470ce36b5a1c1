"""`hub reports …`: recompute the report rollups from the event log, with a progress bar."""

from __future__ import annotations

import asyncio
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hub.system.config import Settings


async def _rebuild(settings: Settings, console: Console) -> int:
    from hub.reports import rollup
    from hub.system import services

    await services.start(settings, apply_migrations=True)
    try:
        total = await rollup.count_events()
        with Progress(
            TextColumn("[bold]reports[/] events"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("rebuild", total=total)
            return await rollup.rebuild(progress=lambda n: bar.advance(task, n))
    finally:
        await services.stop()


def register(main: click.Group, settings_of: Any, check: Any) -> None:
    """Add the `reports` group to the `hub` command."""

    @main.group()
    def reports() -> None:
        """Report rollups."""

    @reports.command("rebuild")
    def reports_rebuild() -> None:
        """Recompute every report rollup from the whole event log."""
        settings = settings_of()
        asyncio.run(check(settings))
        applied = asyncio.run(_rebuild(settings, Console(stderr=True)))
        click.echo(f"rebuilt the report rollups from {applied} events")
