"""Inbound throughput: the hub's API channel against a bare Litestar + asyncpg reference.

    .venv/bin/python bench/ingest.py [--duration 20] [--warmup 3] [--connections 32] [--threads 2]
                                     [--senders 2000] [--profile /tmp/hub-profile]

1. A fresh database hub_bench_ingest (dropped first if it exists).
2. REFERENCE: bench/reference_app.py (one POST handler, one INSERT per request, asyncpg pool)
   under `uvicorn --loop uvloop --http httptools --no-access-log --log-level warning`.
3. HUB: `hub serve` with DATABASE_URL=.../hub_bench_ingest, no REDIS_URL (single-process default,
   in-process worker), HUB_LOG_LEVEL=warning; admin, API key and an `api` inbox made through the
   public HTTP API.
4. Both driven by wrk (bench/ingest.lua): 2 threads, 32 connections, a warm-up run, then the
   measured run; every request has a unique external_id and one of ~2,000 senders.
5. Durability: every external_id acknowledged with a 2xx (read back from the response bodies) must
   be in the database. Rows beyond that are requests wrk abandoned in flight when its clock ran out
   (committed by the server, never acknowledged); there can be at most one per connection.

--rounds N alternates reference and hub N times (both servers stay up) and reports the median
round and the median per-round ratio: on a shared machine a burst of other load then hits both.
--variant NAME=PATCH,… adds a hub started through bench/hub_patched.py (what-if patches).

With --pg-waits, an extra (unmeasured) hub run samples pg_stat_activity (bench/pg_waits.py).
With --profile PREFIX, an extra (unmeasured) hub run is recorded with py-spy: PREFIX.svg and
PREFIX.txt (collapsed stacks), and the top functions by own time are printed.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

# ruff: noqa: E402  (sys.path is set before the other imports)
import sys
from pathlib import Path

# Run as `python bench/X.py`, Python puts bench/ first on sys.path, where a module may shadow the
# standard library (bench/email.py shadows `email`): import from the repository root instead.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from typing import Any

import asyncpg

from bench.common import (
    BIN,
    ROOT,
    Server,
    cpu_delta,
    dsn_for,
    free_port,
    machine_cpu,
    postgres_cpu_by_pid,
    process_cpu,
    recreate_database,
    setup_hub,
    start_hub,
    start_server,
    stop_server,
    wait_quiet,
)

DATABASE = "hub_bench_ingest"


def set_database(name: str) -> None:
    global DATABASE
    DATABASE = name


LUA = Path(__file__).resolve().parent / "ingest.lua"


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing; installing it with apt-get", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, timeout=300)
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is not available (apt-get install -y wrk)")
    return found


def run_wrk(
    wrk: str,
    url: str,
    path: str,
    token: str,
    prefix: str,
    seconds: int,
    args: argparse.Namespace,
    work: Path,
) -> dict[str, Any]:
    result_file = work / f"wrk-{prefix}.json"
    ack_file = work / f"acked-{prefix}.txt"
    env = dict(
        os.environ,
        BENCH_PATH=path,
        BENCH_TOKEN=token,
        BENCH_PREFIX=prefix,
        BENCH_SENDERS=str(args.senders),
        BENCH_RESULT_FILE=str(result_file),
        BENCH_ACK_FILE=str(ack_file),
    )
    argv = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url + path,
    ]
    cpu_server_0 = process_cpu(args._server_pid)
    cpu_pg_0 = postgres_cpu_by_pid(DATABASE)
    cpu_wrk_0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, total0 = machine_cpu()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 60)
    busy1, total1 = machine_cpu()
    cpu_wrk_1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0 or not result_file.exists():
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    result: dict[str, Any] = json.loads(result_file.read_text())
    wall = result["duration_us"] / 1e6
    result["rps"] = result["requests"] / wall
    result["ok_rps"] = result["ok_2xx"] / wall
    result["acked"] = ack_file.read_text().split()
    result["errors_total"] = sum(result["errors"].values())
    # Requests written but never answered: wrk drops them when its clock runs out.
    result["in_flight_at_stop"] = (
        result["sent"]
        - result["requests"]
        - sum(result["errors"][k] for k in ("read", "write", "timeout"))
    )
    result["non_2xx"] = sum(n for code, n in result["statuses"].items() if not code.startswith("2"))
    server_s = process_cpu(args._server_pid) - cpu_server_0
    postgres_s = cpu_delta(cpu_pg_0, postgres_cpu_by_pid(DATABASE))
    wrk_s = (cpu_wrk_1.ru_utime + cpu_wrk_1.ru_stime) - (cpu_wrk_0.ru_utime + cpu_wrk_0.ru_stime)
    busy_s = busy1 - busy0
    result["cpu"] = {
        "server_s": round(server_s, 2),
        "postgres_s": round(postgres_s, 2),
        "wrk_s": round(wrk_s, 2),
        # anything else on the machine (another job): should be near 0 for a clean figure
        "other_s": round(busy_s - server_s - postgres_s - wrk_s, 2),
        "machine_busy_pct": round(100 * busy_s / max(total1 - total0, 1e-9), 1),
        "wall_s": round(wall, 2),
        "server_ms_per_request": round(1000 * server_s / max(result["requests"], 1), 3),
        "postgres_ms_per_request": round(1000 * postgres_s / max(result["requests"], 1), 3),
    }
    return result


async def vacuum() -> None:
    """What autovacuum would have done by now. This machine's PostgreSQL runs with autovacuum
    off; without it every message's conversation update leaves a dead row version behind for
    good, and each later round of the hub runs on a more bloated table than the last."""
    # The machine's PostgreSQL allows 100 connections, shared with other jobs: wait for one.
    for attempt in range(30):
        try:
            conn = await asyncpg.connect(dsn_for(DATABASE))
            break
        except asyncpg.TooManyConnectionsError:
            if attempt == 29:
                raise
            await asyncio.sleep(1)
    try:
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


async def verify(query: str, result: dict[str, Any], *args: Any) -> dict[str, Any]:
    acked = result["acked"]
    conn = await asyncpg.connect(dsn_for(DATABASE))
    try:
        rows = await conn.fetch(query, *args)
    finally:
        await conn.close()
    stored = [r[0] for r in rows]
    stored_set = set(stored)
    acked_set = set(acked)
    return {
        "acknowledged": len(acked_set),
        "rows": len(stored),
        "duplicate_rows": len(stored) - len(stored_set),
        "missing": len(acked_set - stored_set),  # acknowledged but not stored: must be 0
        "unacknowledged_rows": len(stored_set - acked_set),  # in flight when wrk stopped
        "in_flight_at_stop": result["in_flight_at_stop"],
        # rows == 2xx responses, apart from requests abandoned in flight by wrk at the stop
        "rows_equal_2xx": len(stored) == len(acked_set),
        "ok": len(acked_set - stored_set) == 0
        and len(stored) == len(stored_set)
        and len(stored_set - acked_set) <= result["in_flight_at_stop"],
    }


def summary_line(name: str, r: dict[str, Any]) -> str:
    lat = r["latency_us"]
    return (
        f"{name:9s} {r['rps']:8.0f} req/s  ({r['ok_rps']:.0f} 2xx/s)  p50 {lat['p50'] / 1000:6.1f} ms"
        f"  p90 {lat['p90'] / 1000:6.1f} ms  p99 {lat['p99'] / 1000:6.1f} ms"
        f"  max {lat['max'] / 1000:7.1f} ms  requests {r['requests']}  non-2xx {r['non_2xx']}"
        f"  socket errors {r['errors_total'] - r['errors']['status']}"
        f"  statuses {r['statuses']}  cpu {r['cpu']}"
    )


def profile_hub(
    wrk: str, server: Server, path: str, token: str, args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    pyspy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(pyspy).exists():
        subprocess.run([str(BIN / "pip"), "install", "-q", "py-spy"], check=False, timeout=300)
    seconds = args.duration
    prefix = Path(args.profile)
    raw = prefix.with_suffix(".txt")
    svg = prefix.with_suffix(".svg")
    common = ["record", "--pid", str(server.pid), "-d", str(seconds), "-r", "200", "--nonblocking"]
    # Two samplers on the same process (non-blocking reads, no pauses): raw stacks and the SVG.
    spies = [
        subprocess.Popen(
            [pyspy, *common, "-f", fmt, "-o", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fmt, out in (("raw", raw), ("flamegraph", svg))
    ]
    time.sleep(1)
    args._server_pid = server.pid
    result = run_wrk(wrk, server.url, path, token, "p", seconds - 2, args, work)
    for spy in spies:
        spy.wait(timeout=seconds + 60)
    return {
        "rps_under_profiler": round(result["rps"]),
        "raw": str(raw),
        "svg": str(svg),
        "top_self": top_functions(raw, own=True),
        "top_total": top_functions(raw, own=False),
    }


def pg_waits_hub(
    wrk: str, server: Server, path: str, token: str, args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    """An extra, unmeasured hub run while pg_stat_activity is sampled (bench/pg_waits.py)."""
    import threading

    from bench.pg_waits import sample

    box: dict[str, Any] = {}
    seconds = max(args.duration - 4, 2)

    def sampler() -> None:
        time.sleep(1)
        box["report"] = asyncio.run(sample(DATABASE, seconds))

    thread = threading.Thread(target=sampler)
    thread.start()
    args._server_pid = server.pid
    result = run_wrk(wrk, server.url, path, token, "q", args.duration, args, work)
    thread.join(timeout=args.duration + 30)
    report = box.get("report", {})
    report["rps_while_sampling"] = round(result["rps"])
    return report


def top_functions(raw: Path, *, own: bool, n: int = 25) -> list[tuple[str, float]]:
    """From py-spy collapsed stacks: share of samples per function (own time, or inclusive)."""
    counts: Counter[str] = Counter()
    total = 0
    if not raw.exists():
        return []
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, num = line.rpartition(" ")
        if not num.isdigit():
            continue
        k = int(num)
        total += k
        frames = stack.split(";")
        if own:
            counts[_short(frames[-1])] += k
        else:
            for frame in set(_short(f) for f in frames):
                counts[frame] += k
    return [(name, round(100 * c / total, 1)) for name, c in counts.most_common(n)] if total else []


def _short(frame: str) -> str:
    # "func (path/to/module.py:123)" -> "func (module.py)" keeps modules apart, lines together
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{name} ({file})"


def start_reference(dsn: str, work: Path, processes: int = 1, pool_size: int = 10) -> Server:
    port = free_port()
    env = dict(
        os.environ,
        REF_DATABASE_URL=dsn,
        REF_POOL_SIZE=str(pool_size),
        PATH=f"{BIN}:{os.environ.get('PATH', '')}",
    )
    argv = [str(BIN / "uvicorn"), "bench.reference_app:app", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
    argv += ["--log-level", "warning"]
    if processes > 1:
        # the same supervisor as `hub serve --processes` (uvicorn's workers on one socket)
        argv += ["--workers", str(processes)]
    return start_server("reference", argv, env, port, work)


def merge_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The median round by throughput carries the figures; acks and in-flight add up."""
    ordered = sorted(rounds, key=lambda r: r["rps"])
    median = dict(ordered[len(ordered) // 2])
    median["acked"] = [eid for r in rounds for eid in r["acked"]]
    median["in_flight_at_stop"] = sum(r["in_flight_at_stop"] for r in rounds)
    median["rounds_rps"] = [round(r["rps"], 1) for r in rounds]
    return median


def _parse_variant(text: str) -> tuple[str, str]:
    name, sep, patches = text.partition("=")
    if not sep or not name or not patches:
        raise SystemExit(f"--variant wants NAME=PATCH[,PATCH], got {text!r}")
    return name, patches


def git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "hub", "web", "adapters"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--senders", type=int, default=2000)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measured runs per target, alternating reference and hub (median reported)",
    )
    parser.add_argument("--profile", default="", help="also record the hub with py-spy to PREFIX")
    parser.add_argument(
        "--pg-waits", action="store_true", help="also sample pg_stat_activity in an extra hub run"
    )
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument(
        "--no-vacuum",
        dest="vacuum",
        action="store_false",
        help="do not VACUUM (ANALYZE) the bench database before each measured round",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME=PATCH[,PATCH]: also measure a hub with bench/hub_patched.py patches",
    )
    parser.add_argument(
        "--wait-quiet", type=float, default=180, help="wait up to S s for an idle machine"
    )
    parser.add_argument("--quiet-pct", type=float, default=12, help="idle means below this busy %%")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="web processes of the reference (uvicorn --workers) and the hub (serve --processes)",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=0,
        help="database connections per process, reference and hub alike (default 10 / processes)",
    )
    parser.add_argument("--database", default=DATABASE, help="bench database (dropped first)")
    args = parser.parse_args()
    set_database(args.database)
    # The same connections in all whatever the processes (the machine's PostgreSQL allows 100).
    args.pool_size = args.pool_size or max(2, 10 // args.processes)
    wrk = ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="hub-bench-ingest-"))
    print(f"work dir {work}", flush=True)
    dsn = asyncio.run(recreate_database(DATABASE))
    figures: dict[str, Any] = {
        "bench": "ingest",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git": git_state(),
        "cpus": os.cpu_count(),
        "connections": args.connections,
        "threads": args.threads,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "rounds": args.rounds,
        "senders": args.senders,
        "processes": args.processes,
        "pool_size_per_process": args.pool_size,
        "database": DATABASE,
        "loadavg_before": os.getloadavg(),
    }

    # Every server stays up for the whole run, so the measured runs can alternate: a burst of
    # load from another job on this shared machine then hits every target alike.
    variants = [("hub", "")] + [_parse_variant(v) for v in args.variant]
    ref_server = (
        None if args.skip_reference else start_reference(dsn, work, args.processes, args.pool_size)
    )
    hubs: list[dict[str, Any]] = []
    waits = profile = None
    try:
        for name, patches in variants:
            server = start_hub(
                dsn,
                work / f"{name}-data",
                work,
                name=name,
                patches=patches,
                processes=args.processes,
                pool_size=args.pool_size,
            )
            hubs.append({"name": name, "patches": patches, "server": server, "rounds": []})
            setup = setup_hub(server.url)
            hubs[-1]["setup"] = setup
            hubs[-1]["path"] = f"/api/v1/inboxes/{setup.inbox_id}/messages"
        ref_rounds: list[dict[str, Any]] = []
        targets: list[tuple[str, str, Server, str, str, list[dict[str, Any]]]] = []
        if ref_server is not None:
            targets.append(("reference", "r", ref_server, "/messages", "", ref_rounds))
        for k, h in enumerate(hubs):
            tag = "h" if k == 0 else f"v{k}x"
            h["tag"] = tag
            targets.append(
                (h["name"], tag, h["server"], h["path"], h["setup"].api_key, h["rounds"])
            )
        for _, tag, server, path, token, _ in targets:
            args._server_pid = server.pid
            run_wrk(wrk, server.url, path, token, f"w{tag}", args.warmup, args, work)
        for n in range(1, args.rounds + 1):
            for name, tag, server, path, token, rounds in targets:
                if args.vacuum:
                    asyncio.run(vacuum())
                background = wait_quiet(args.wait_quiet, args.quiet_pct)
                args._server_pid = server.pid
                result = run_wrk(
                    wrk, server.url, path, token, f"m{tag}{n}", args.duration, args, work
                )
                result["background_busy_pct_before"] = background
                rounds.append(result)
                print(summary_line(f"{name}#{n}", result), flush=True)
        main_hub = hubs[0]
        key = main_hub["setup"].api_key
        if args.pg_waits:
            waits = pg_waits_hub(wrk, main_hub["server"], main_hub["path"], key, args, work)
        if args.profile:
            profile = profile_hub(wrk, main_hub["server"], main_hub["path"], key, args, work)
    finally:
        if ref_server is not None:
            stop_server(ref_server)
        for h in hubs:
            stop_server(h["server"])

    ref = merge_rounds(ref_rounds) if ref_rounds else None
    if ref is not None and ref_server is not None:
        ref_check = asyncio.run(
            verify("SELECT external_id FROM ref_message WHERE external_id LIKE 'mr%'", ref)
        )
        print(summary_line("reference", ref), flush=True)
        print(f"reference durability {ref_check}", flush=True)
        figures["reference"] = _figures(ref, ref_check, ref_server)
    for k, h in enumerate(hubs):
        result = merge_rounds(h["rounds"])
        check = asyncio.run(
            verify(
                "SELECT provider_message_id FROM message WHERE inbox = $1"
                f" AND provider_message_id LIKE 'm{h['tag']}%'",
                result,
                h["setup"].inbox_id,
            )
        )
        server = h["server"]
        totals = asyncio.run(_hub_totals(h["setup"].inbox_id))
        print(summary_line(h["name"], result), flush=True)
        print(f"{h['name']} durability {check}", flush=True)
        print(f"{h['name']} totals {totals}; server log {server.log_summary()}", flush=True)
        for kind, count in server.log_kinds().items():
            print(f"  {h['name']} log: {count} x {kind}", flush=True)
        entry = _figures(result, check, server)
        entry["totals"] = totals
        if h["patches"]:
            entry["patches"] = h["patches"]
        if ref:
            # per round (the two ran back to back, under the same background load), then median
            per_round = [
                h_r["rps"] / r_r["rps"] for h_r, r_r in zip(h["rounds"], ref_rounds, strict=True)
            ]
            entry["ratio_per_round"] = [round(x, 3) for x in per_round]
            entry["ratio_to_reference"] = round(statistics.median(per_round), 3)
            r, c = figures["reference"]["cpu"], entry["cpu"]
            entry["cpu_cost_ratio_to_reference"] = round(
                (c["server_ms_per_request"] + c["postgres_ms_per_request"])
                / (r["server_ms_per_request"] + r["postgres_ms_per_request"]),
                2,
            )
            print(
                f"ratio {h['name']}/reference {entry['ratio_to_reference']:.2f};"
                f" CPU per request (server + PostgreSQL): reference {r['server_ms_per_request']}"
                f" + {r['postgres_ms_per_request']} ms, {h['name']} {c['server_ms_per_request']}"
                f" + {c['postgres_ms_per_request']} ms ({entry['cpu_cost_ratio_to_reference']}x)",
                flush=True,
            )
        if k == 0:
            figures["hub"] = entry
            if ref:
                figures["ratio_hub_to_reference"] = entry["ratio_to_reference"]
        else:
            figures.setdefault("variants", {})[h["name"]] = entry
    if waits:
        from bench.pg_waits import print_report

        print(f"extra hub run with pg_stat_activity sampling: {waits['rps_while_sampling']} req/s")
        print_report(waits)
        figures["pg_waits"] = waits
    if profile:
        figures["profile"] = {k: v for k, v in profile.items() if k != "top_total"}
        print(f"profile ({profile['rps_under_profiler']} req/s under py-spy): {profile['raw']}")
        print("top own time:")
        for name, pct in profile["top_self"]:
            print(f"  {pct:5.1f}%  {name}")
        print("top inclusive time:")
        for name, pct in profile["top_total"]:
            print(f"  {pct:5.1f}%  {name}")
    figures["loadavg_after"] = os.getloadavg()
    print(json.dumps(figures), flush=True)


def _figures(r: dict[str, Any], check: dict[str, Any], server: Server) -> dict[str, Any]:
    lat = r["latency_us"]
    return {
        "rps": round(r["rps"], 1),
        "ok_rps": round(r["ok_rps"], 1),
        "requests": r["requests"],
        "ok_2xx": r["ok_2xx"],
        "non_2xx": r["non_2xx"],
        "socket_errors": r["errors_total"] - r["errors"]["status"],
        "statuses": r["statuses"],
        "p50_ms": round(lat["p50"] / 1000, 2),
        "p90_ms": round(lat["p90"] / 1000, 2),
        "p99_ms": round(lat["p99"] / 1000, 2),
        "max_ms": round(lat["max"] / 1000, 2),
        "cpu": r["cpu"],
        "background_busy_pct_before": r.get("background_busy_pct_before"),
        "rounds_rps": r.get("rounds_rps"),
        "durability": check,
        "server_log": server.log_summary(),
        "server_log_kinds": server.log_kinds(),
    }


async def _hub_totals(inbox_id: int) -> dict[str, int]:
    conn = await asyncpg.connect(dsn_for(DATABASE))
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM message WHERE inbox = $1) AS messages,"
            " (SELECT count(*) FROM message WHERE inbox = $1 AND direction = 'in') AS inbound,"
            " (SELECT count(*) FROM conversation WHERE inbox = $1) AS conversations,"
            " (SELECT count(*) FROM contact) AS contacts,"
            " (SELECT count(*) FROM event) AS events",
            inbox_id,
        )
    finally:
        await conn.close()
    return dict(row)


if __name__ == "__main__":
    main()
