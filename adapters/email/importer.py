"""Bulk import (`hub email import PATH --inbox ID`): an mbox file, a Maildir, or a folder of .eml.

Messages are parsed in worker processes and ingested concurrently (the hub's group commit does
the batching), while threading stays exact: a reply whose parent is still on its way to the
database waits for that parent's commit (`threading_hints.Recent`) before it is threaded.
Re-running an import is harmless: ingest is idempotent on the Message-ID.
"""

from __future__ import annotations

import asyncio
import mailbox
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from adapters.email.convert import Converter
from adapters.email.parse import ParsedEmail, parse
from adapters.email.threading_hints import Pending, Recent
from hub.channels.contract import DeliveryUpdate
from hub.ingest import pipeline
from hub.outbox import delivery

WINDOW = 256  # messages parsed ahead of the one being threaded
IN_FLIGHT = 400  # messages handed to ingest and not yet committed


@dataclass
class ImportReport:
    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0  # mail from the inbox's own address (loops)
    bounces: int = 0
    conversations_created: int = 0
    errors: list[str] = field(default_factory=list)


def order_key(raw: bytes) -> tuple[float, int]:
    """(Date, References depth): parents come before their replies whenever the headers allow
    it, also among messages with equal Date headers. Undated mail sorts first."""
    from email.utils import parsedate_to_datetime

    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    depth = len(str(headers.get("References") or "").split()) + bool(headers.get("In-Reply-To"))
    try:
        value = headers.get("Date")
        return (parsedate_to_datetime(str(value)).timestamp() if value else 0.0), depth
    except Exception:
        return 0.0, depth


def open_source(path: Path) -> tuple[int, Iterator[bytes]]:
    """(number of messages, their raw bytes in import order) of an mbox, Maildir or .eml folder.

    A Maildir and a folder have no order of their own: they are imported by `order_key`. An
    mbox keeps its file order (it is the order the mail was appended). Whatever order remains
    wrong (a reply dated before its parent), thread repair mends after the fact.
    """
    if path.is_dir() and any((path / sub).is_dir() for sub in ("cur", "new")):
        box = mailbox.Maildir(path, factory=None, create=False)
        keys = sorted(box.keys(), key=lambda k: order_key(box.get_bytes(k)))
        return len(keys), (box.get_bytes(k) for k in keys)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        files.sort(key=lambda p: order_key(p.read_bytes()))
        return len(files), (p.read_bytes() for p in files)
    mbox = mailbox.mbox(path, factory=None, create=False)
    keys = list(mbox.keys())
    return len(keys), (mbox.get_bytes(k) for k in keys)


def parse_or_none(raw: bytes, address: str) -> ParsedEmail | None:
    """Runs in a worker process; a failure is turned into "keep it raw" by the converter."""
    try:
        return parse(raw, address)
    except Exception:
        return None


class Importer:
    def __init__(self, converter: Converter, *, executor: Executor | None = None) -> None:
        self.converter = converter
        self.executor = executor
        self.recent = Recent()
        self.report = ImportReport()
        self.slots = asyncio.Semaphore(IN_FLIGHT)
        self.tasks: set[asyncio.Task[None]] = set()

    async def add(self, raw: bytes, parsed: ParsedEmail | None) -> None:
        """Start handling one message; later messages may refer to it from now on."""
        self.report.messages += 1
        await self.slots.acquire()
        pending = Pending(asyncio.get_running_loop().create_future(), bool(parsed and parsed.bulk))
        if parsed is not None:
            self.recent.by_message_id[parsed.message_id] = pending
        # Each message waits only for the parents it names, not for every message before it.
        task = asyncio.create_task(self._process(raw, parsed, pending))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _process(self, raw: bytes, parsed: ParsedEmail | None, pending: Pending) -> None:
        conversation = 0
        try:
            items = await self.converter.items(raw, parsed, self.recent)
            if not items:
                self.report.skipped += 1
            for item in items:
                if isinstance(item, DeliveryUpdate):
                    self.report.bounces += 1
                    await delivery.apply_delivery(item)
                    continue
                result = await pipeline.ingest(item)
                conversation = result.conversation_id
                if result.created:
                    self.report.stored += 1
                    self.report.conversations_created += int(result.conversation_created)
                else:
                    self.report.duplicates += 1
        except Exception as exc:
            key = parsed.message_id if parsed else "unparsed message"
            self.report.errors.append(f"{key}: {type(exc).__name__}: {exc}")
        finally:
            # 0: replies to a message that was not stored find nothing here and ask the database.
            pending.conversation.set_result(conversation)
            self.slots.release()

    async def run(
        self, messages: Iterator[bytes], progress: Callable[[int], None] | None = None
    ) -> ImportReport:
        loop = asyncio.get_running_loop()
        address = self.converter.address
        window: list[tuple[bytes, asyncio.Future[ParsedEmail | None]]] = []

        def submit(raw: bytes) -> None:
            if self.executor is None:
                future: asyncio.Future[ParsedEmail | None] = loop.create_future()
                future.set_result(parse_or_none(raw, address))
            else:
                future = asyncio.wrap_future(self.executor.submit(parse_or_none, raw, address))
            window.append((raw, future))

        async def drain_one() -> None:
            raw, future = window.pop(0)
            await self.add(raw, await future)
            if progress is not None:
                progress(1)

        for raw in messages:
            submit(raw)
            if len(window) >= WINDOW:
                await drain_one()
        while window:
            await drain_one()
        while self.tasks:
            await asyncio.gather(*list(self.tasks))
        return self.report


async def run_import(
    inbox_id: int,
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    processes: int | None = None,
) -> ImportReport:
    """Import every message at `path` into the email inbox `inbox_id`."""
    from adapters.email.channel import EmailChannel
    from hub.channels import inboxes
    from hub.system.services import current

    settings = current().settings
    adapter = await inboxes.adapter_for(
        inbox_id, secret_key=settings.secret_key, public_url=settings.public_url
    )
    if not isinstance(adapter, EmailChannel):
        raise ValueError(f"inbox {inbox_id} is not an email inbox")
    total, messages = open_source(path)
    if on_total is not None:
        on_total(total)
    cores = os.cpu_count() or 1
    # Parsing (~1 ms a message) is cheaper than PostgreSQL's share of ingest: worker processes pay
    # off only when there are cores to spare beside the database (measured: slower on 2 cores).
    workers = processes if processes is not None else (cores // 2 if cores >= 4 else 0)
    if workers <= 0 or total < 50:
        return await Importer(adapter.converter()).run(messages, progress)
    # forkserver: the workers must not inherit this process's event loop and database sockets.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return await Importer(adapter.converter(), executor=pool).run(messages, progress)
