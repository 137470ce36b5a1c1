"""Email ingest: the hub (our parsing + threading + hub ingest) against django-helpdesk, same run.

    .venv/bin/python bench/email_ingest.py [--messages 2000] [--seed 42] [--processes N] [--skip-peer]

Generates the corpus with ../shared/bench/gen_email_corpus.py, imports it into a fresh PostgreSQL
database (hub_bench_email) through adapters.email.importer until every message is committed, then
runs the peer (../shared/bench/peer-django-helpdesk/run.sh) on the same directory. Prints
messages/s of both, the ratio, and the conversation/message counts (both must be 1,386 / 2,000
for N=2000, seed 42). A figure, not a test: nothing here is timed in the test suite.
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
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from bench.common import recreate_database  # noqa: E402

SHARED = ROOT.parent / "shared" / "bench"
DATABASE = "hub_bench_email"
EXPECTED = {2000: (1386, 2000)}  # messages → (conversations, messages) for seed 42


async def run_hub(corpus: Path, data_dir: Path, processes: int | None) -> dict[str, Any]:
    import hub.domains  # noqa: F401  (registers the jobs the in-process run needs)
    from adapters.email.importer import run_import
    from hub.channels import inboxes
    from hub.db.engine import engine
    from hub.system import services
    from hub.system.config import Settings

    dsn = await recreate_database(DATABASE)
    settings = Settings(database_url=dsn, data_dir=data_dir, secret_key="bench-" + "k" * 40)
    await services.start(settings, apply_migrations=True)
    try:
        row, _ = await inboxes.create_inbox(
            "Support",
            "email",
            {"address": "support@example.com", "smtp_host": "127.0.0.1"},
            secret_key=settings.secret_key,
            public_url=settings.public_url,
        )
        started = time.perf_counter()
        report = await run_import(row["id"], corpus, processes=processes)
        seconds = time.perf_counter() - started
        pool = engine().pool
        assert pool is not None
        conversations = await pool.fetchval(
            "SELECT count(*) FROM conversation WHERE merged_into IS NULL"
        )
        messages = await pool.fetchval("SELECT count(*) FROM message")
        attachments = await pool.fetchval("SELECT count(*) FROM attachment")
    finally:
        await services.stop()
    return {
        "system": "hub",
        "messages": report.messages,
        "seconds": round(seconds, 3),
        "messages_per_s": round(report.messages / seconds, 1),
        "conversations": int(conversations),
        "stored_messages": int(messages),
        "attachments": int(attachments),
        "errors": report.errors[:5],
    }


def run_peer(corpus: Path) -> dict[str, Any]:
    done = subprocess.run(
        ["bash", str(SHARED / "peer-django-helpdesk" / "run.sh"), str(corpus)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise SystemExit(f"the peer failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--processes", type=int, default=None, help="parsing worker processes")
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-bench-email-") as work:
        corpus = Path(work) / "corpus"
        subprocess.run(
            [
                sys.executable,
                str(SHARED / "gen_email_corpus.py"),
                str(corpus),
                str(args.messages),
                str(args.seed),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        hub = asyncio.run(run_hub(corpus, Path(work) / "data", args.processes))
        print(json.dumps(hub))
        want = EXPECTED.get(args.messages) if args.seed == 42 else None
        if want:
            print(
                f"hub: {hub['conversations']} conversations, {hub['stored_messages']} messages (want {want[0]}, {want[1]})"
            )
            assert (hub["conversations"], hub["stored_messages"]) == want, "hub threading differs"
        if args.skip_peer:
            return
        peer = run_peer(corpus)
        print(json.dumps(peer))
        if want:
            print(
                f"peer: {peer['tickets']} tickets, {peer['followups']} follow-ups (want {want[0]}, {want[1]})"
            )
            assert peer["tickets"] == want[0], "the peer's threading differs"
        ratio = hub["messages_per_s"] / peer["messages_per_s"]
        print(
            f"hub {hub['messages_per_s']} messages/s · django-helpdesk {peer['messages_per_s']} messages/s"
            f" · ratio {ratio:.1f}x (bar 5x, goal 10x)"
        )


if __name__ == "__main__":
    main()
