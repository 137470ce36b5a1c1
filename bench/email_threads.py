"""Email threads in any order: the conversations of an in-order import, a shuffled Maildir and a
shuffled one-by-one delivery, compared as partitions of Message-IDs.

    .venv/bin/python bench/email_threads.py [--messages 2000] [--seed 42] [--shuffle-seed 7]

Generates the corpus with ../shared/bench/gen_email_corpus.py into a temporary folder, then into
one fresh database (hub_bench_threads), three email inboxes:

1. `hub email import` of the .eml folder (Date, then References depth; the generator's order);
2. `hub email import` of a Maildir written in a shuffled order;
3. the shuffled messages handed to ingest one at a time, as a polled mailbox would deliver them.

Prints conversations, automatic repairs and seconds of each, and whether each partition of
Message-IDs into conversations equals the first. A figure, not a test.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and "email" would shadow the
# standard library's email package: put the repository root there instead, before any import.
ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import mailbox  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from bench.common import recreate_database  # noqa: E402

SHARED = ROOT.parent / "shared" / "bench"
DATABASE = "hub_bench_threads"


async def _partition(pool: Any, inbox_id: int) -> set[frozenset[str]]:
    rows = await pool.fetch(
        "SELECT array_agg(provider_message_id) AS ids FROM message"
        " WHERE inbox = $1 AND kind = 'message' GROUP BY conversation",
        inbox_id,
    )
    return {frozenset(r["ids"]) for r in rows}


def shuffled_copy(corpus: Path, work: Path, shuffle_seed: int) -> list[bytes]:
    """The corpus in a shuffled order, also written to work/Maildir in that order."""
    shuffled = [p.read_bytes() for p in sorted(corpus.glob("*.eml"))]
    random.Random(shuffle_seed).shuffle(shuffled)
    box = mailbox.Maildir(work / "Maildir", create=True)
    for raw in shuffled:
        box.add(raw)
    box.flush()
    return shuffled


async def run(corpus: Path, work: Path, shuffled: list[bytes]) -> list[dict[str, Any]]:
    import hub.domains  # noqa: F401  (registers the jobs the in-process run needs)
    from adapters.email.channel import EmailChannel
    from adapters.email.importer import run_import
    from hub.channels import inboxes
    from hub.channels.contract import Inbound
    from hub.db.engine import engine
    from hub.ingest import pipeline
    from hub.system import services
    from hub.system.config import Settings

    dsn = await recreate_database(DATABASE)
    settings = Settings(database_url=dsn, data_dir=work / "data", secret_key="bench-" + "k" * 40)
    await services.start(settings, apply_migrations=True)
    results: list[dict[str, Any]] = []
    try:
        pool = engine().pool
        assert pool is not None

        async def inbox(name: str) -> int:
            row, _ = await inboxes.create_inbox(
                name,
                "email",
                {"address": "support@example.com", "smtp_host": "127.0.0.1"},
                secret_key=settings.secret_key,
                public_url=settings.public_url,
            )
            return int(row["id"])

        async def one_by_one(inbox_id: int) -> None:
            adapter = await inboxes.adapter_for(
                inbox_id, secret_key=settings.secret_key, public_url=settings.public_url
            )
            assert isinstance(adapter, EmailChannel)
            converter = adapter.converter()
            for raw in shuffled:
                for item in await converter.items(raw):
                    if isinstance(item, Inbound):
                        await pipeline.ingest(item)

        runs = [
            ("import of the .eml folder", lambda i: run_import(i, corpus, processes=0)),
            (
                "import of a shuffled Maildir",
                lambda i: run_import(i, work / "Maildir", processes=0),
            ),
            ("shuffled, one message at a time", one_by_one),
        ]
        first: set[frozenset[str]] | None = None
        for name, how in runs:
            inbox_id = await inbox(name)
            started = time.perf_counter()
            await how(inbox_id)
            seconds = time.perf_counter() - started
            partition = await _partition(pool, inbox_id)
            first = partition if first is None else first
            repairs = await pool.fetchval(
                "SELECT count(*) FROM conversation_merge g JOIN conversation c ON c.id = g.target"
                " WHERE c.inbox = $1 AND g.auto",
                inbox_id,
            )
            results.append(
                {
                    "run": name,
                    "messages": sum(len(p) for p in partition),
                    "conversations": len(partition),
                    "repairs": int(repairs),
                    "seconds": round(seconds, 2),
                    "same_as_first": partition == first,
                }
            )
    finally:
        await services.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--shuffle-seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-bench-threads-") as work:
        corpus = Path(work) / "corpus"
        generated = subprocess.run(
            [
                sys.executable,
                str(SHARED / "gen_email_corpus.py"),
                str(corpus),
                str(args.messages),
                str(args.seed),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        print(generated.stdout.strip())
        shuffled = shuffled_copy(corpus, Path(work), args.shuffle_seed)
        for result in asyncio.run(run(corpus, Path(work), shuffled)):
            print(json.dumps(result))


if __name__ == "__main__":
    main()
