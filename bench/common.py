"""Shared helpers for the bench scripts: fresh databases, server subprocesses, hub set-up, CPU use.

Everything here targets 127.0.0.1 only, and every subprocess it starts is stopped by its own id.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin (run the scripts with .venv/bin/python)
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench admin password 42"


def dsn_for(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


async def recreate_database(database: str) -> str:
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    return dsn_for(database)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 40, width: int = 400) -> str:
        try:
            tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n".join(line if len(line) <= width else line[:width] + " …" for line in tail)

    def log_kinds(self) -> dict[str, int]:
        """Distinct log messages (JSON lines: level + msg with numbers folded, + exception's
        last line) and how often each came."""
        counts: Counter[str] = Counter()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return {}
        for line in text.splitlines():
            try:
                record = json.loads(line)
                exc = str(record.get("exc", "")).strip().splitlines()
                key = f"{record.get('level')} {record.get('logger')}: " + re.sub(
                    r"\d+", "N", str(record.get("msg", ""))
                )
                if exc:
                    key += f" [{exc[-1][:160]}]"
            except (ValueError, AttributeError):
                key = "text: " + re.sub(r"\d+", "N", line[:160])
            counts[key] += 1
        return dict(counts.most_common(20))

    def log_summary(self) -> dict[str, int]:
        """Counts of worrying lines in the server's output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return {}
        low = text.lower()
        return {
            "lines": len(text.splitlines()),
            "tracebacks": text.count("Traceback"),
            "error_lines": sum(1 for line in low.splitlines() if "error" in line),
            "warning_lines": sum(1 for line in low.splitlines() if "warning" in line),
        }


def _wait_ready(server: Server, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.proc.returncode} during start-up:\n"
                + server.log_tail()
            )
        try:
            response = httpx.get(server.url + path, timeout=2)
            if response.status_code == 200:
                return
            last = response.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(
        f"{server.name} not ready within {timeout} s ({last}):\n" + server.log_tail()
    )


def start_server(
    name: str,
    argv: list[str],
    env: dict[str, str],
    port: int,
    log_dir: Path,
    ready_path: str = "/health",
    timeout: float = 90,
) -> Server:
    log_path = log_dir / f"{name}.log"
    handle = open(log_path, "wb")  # noqa: SIM115 - kept open for the child's lifetime
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    handle.close()
    server = Server(name, proc, f"http://127.0.0.1:{port}", log_path)
    _wait_ready(server, ready_path, timeout)
    return server


def stop_server(server: Server, timeout: float = 30) -> None:
    """SIGTERM the server we started (its own process group), SIGKILL if it lingers."""
    if server.proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.proc.pid, signal.SIGTERM)
    try:
        server.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        stop_server(server)


def hub_env(database_dsn: str, data_dir: Path, port: int) -> dict[str, str]:
    """`hub serve` in its default single-process mode: no REDIS_URL, in-process worker."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HUB_") and k not in ("REDIS_URL", "DATABASE_URL")
    }
    env.update(
        DATABASE_URL=database_dsn,
        HUB_LOG_LEVEL="warning",
        HUB_DATA_DIR=str(data_dir),
        HUB_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HUB_ADMIN_EMAIL=ADMIN_EMAIL,
        HUB_ADMIN_PASSWORD=ADMIN_PASSWORD,
        # one secret for every hub on a bench database (variants share it and decrypt its inboxes)
        HUB_SECRET_KEY="bench-secret-" + "k" * 40,
        PATH=f"{BIN}:{env.get('PATH', '')}",
    )
    return env


def start_hub(
    database_dsn: str,
    data_dir: Path,
    log_dir: Path,
    name: str = "hub",
    patches: str = "",
    processes: int = 1,
    pool_size: int = 10,
) -> Server:
    """`hub serve`; with `patches`, through bench/hub_patched.py (what-if variants)."""
    port = free_port()
    env = hub_env(database_dsn, data_dir, port)
    env["HUB_DB_POOL_SIZE"] = str(pool_size)
    if patches:
        argv = [sys.executable, str(ROOT / "bench" / "hub_patched.py"), "serve"]
        env["BENCH_HUB_PATCHES"] = patches
    else:
        argv = [str(BIN / "hub"), "serve"]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    if processes > 1:
        argv += ["--processes", str(processes)]
    return start_server(name, argv, env, port, log_dir, timeout=180)


@dataclass(frozen=True)
class HubSetup:
    api_key: str
    inbox_id: int


def setup_hub(base_url: str) -> HubSetup:
    """Admin login, an API key and an `api` inbox, all through the public HTTP API."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        r = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        r.raise_for_status()
        csrf = r.json()["csrf_token"]
        headers = {"X-CSRF-Token": csrf}
        r = http.post("/api/v1/api-keys", json={"name": "bench"}, headers=headers)
        if r.status_code != 201:
            raise RuntimeError(f"POST /api/v1/api-keys: {r.status_code} {r.text}")
        key = r.json()["key"]
        r = http.post(
            "/api/v1/inboxes",
            json={"name": "Bench API", "channel": "api", "config": {}},
            headers=headers,
        )
        if r.status_code != 201:
            raise RuntimeError(f"POST /api/v1/inboxes: {r.status_code} {r.text}")
        inbox_id = int(r.json()["id"])
        http.post("/api/v1/auth/logout", headers=headers)
    return HubSetup(key, inbox_id)


# --- CPU accounting (Linux /proc) ----------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def process_cpu(pid: int) -> float:
    """CPU seconds of a server and its child processes (uvicorn's workers with --processes)."""
    total = 0.0
    for p in _descendants(pid):
        try:
            total += _proc_cpu(p)
        except OSError:
            continue
    return total


def postgres_cpu_by_pid(database: str | None = None) -> dict[int, float]:
    """CPU seconds per PostgreSQL process: with `database`, only the backends connected to it
    plus the server's own background processes (WAL writer, checkpointer, …), so another job's
    queries on other databases are not counted."""
    found: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
            if database is not None:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
                is_backend = "(" in cmdline and ")" in cmdline and "127.0.0.1" in cmdline
                if is_backend and f" {database} " not in cmdline:
                    continue
            found[int(entry)] = _proc_cpu(int(entry))
        except OSError:
            continue
    return found


def postgres_cpu(database: str | None = None) -> float:
    return sum(postgres_cpu_by_pid(database).values())


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two snapshots by the processes alive at the second one (a process that
    exited in between takes its CPU time with it: never negative, slightly low then)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / _TICK, total / _TICK


def wait_quiet(max_wait: float, quiet_pct: float) -> float:
    """Wait (bounded) until the machine is idle apart from us; returns the busy % last seen.

    The machine is shared: another job's CPU use would be charged to whichever target runs then.
    """
    deadline = time.monotonic() + max_wait
    while True:
        b0, t0 = machine_cpu()
        time.sleep(2)
        b1, t1 = machine_cpu()
        busy = 100 * (b1 - b0) / max(t1 - t0, 1e-9)
        if busy <= quiet_pct or time.monotonic() >= deadline:
            if busy > quiet_pct:
                print(f"WARNING: the machine is still {busy:.0f}% busy before the run", flush=True)
            return round(busy, 1)
        print(f"machine {busy:.0f}% busy; waiting for it to calm down", flush=True)


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]
