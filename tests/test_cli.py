"""The `hub` command as operators run it: real processes, real PostgreSQL and Redis."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_URL, free_port

HUB = str(Path(sys.executable).with_name("hub"))


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HUB_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(extra)
    return env


def _run(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HUB, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: as root, the embedded PostgreSQL runs as its own user and
    # must be able to reach the folder.
    path = Path(tempfile.mkdtemp(prefix="hub-cli-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = log.open("w")
        self.process = subprocess.Popen(
            [HUB, *args], env=env, stdout=self.handle, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> bool:
        """SIGTERM, as an orchestrator sends it; True when the process shut down gracefully."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        finally:
            self.handle.close()
        return code == 0


def _queue_check_pid(url: str, password: str, runner: Proc) -> int:
    """Log in as root@example.com and run the queue round trip; the pid of the worker that ran
    it (`runner`'s log is shown if it fails)."""
    with httpx.Client(base_url=url, timeout=30) as http:
        login = http.post(
            "/api/v1/auth/login", json={"email": "root@example.com", "password": password}
        )
        assert login.status_code == 200, login.text
        check = http.post(
            "/api/v1/admin/queue-check", headers={"x-csrf-token": login.json()["csrf_token"]}
        )
        assert check.status_code == 200, check.text + runner.output()
        return int(check.json()["result"]["pid"])


def _wait_healthy(url: str, proc: Proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise AssertionError(f"hub exited early:\n{proc.output()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"hub did not become healthy:\n{proc.output()}")


@pytest.mark.parametrize(
    ("env", "command", "expected"),
    [
        ({"DATABASE_URL": "nonsense"}, ["serve"], "DATABASE_URL must be a PostgreSQL URL"),
        ({"REDIS_URL": "nonsense"}, ["worker"], "REDIS_URL must be a Redis URL"),
        ({"HUB_PORT": "http"}, ["serve"], "HUB_PORT must be a whole number"),
        (
            {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere"},
            ["migrate"],
            "cannot connect to DATABASE_URL",
        ),
    ],
)
def test_bad_configuration_fails_fast_in_one_line(
    env: dict[str, str], command: list[str], expected: str, data_dir: Path
) -> None:
    result = _run(*command, env=_env(HUB_DATA_DIR=str(data_dir), **env), timeout=30)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"hub: {expected}")


def test_config_masks_secrets(data_dir: Path) -> None:
    result = _run(
        "config",
        env=_env(
            HUB_DATA_DIR=str(data_dir),
            DATABASE_URL="postgresql://hub:pw-123@db/hub",
            HUB_ADMIN_PASSWORD="admin-pw-456",
        ),
    )
    assert result.returncode == 0, result.stderr
    assert "DATABASE_URL=postgresql://hub:***@db/hub" in result.stdout
    assert "pw-123" not in result.stdout and "admin-pw-456" not in result.stdout
    assert "HUB_SECRET_KEY=***" in result.stdout


def test_zero_config_serve_with_demo(data_dir: Path) -> None:
    """No DATABASE_URL, no REDIS_URL: embedded PostgreSQL, demo data, the printed login works."""
    port = free_port()
    proc = Proc(
        ["serve", "--demo", "--port", str(port)],
        _env(HUB_DATA_DIR=str(data_dir)),
        data_dir / "serve.log",
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc)
        out = proc.output()
        assert f"Hub is starting at {url}" in out
        assert "demo admin: admin@example.com / hub-demo-admin" in out
        with httpx.Client(base_url=url) as http:
            login = http.post(
                "/api/v1/auth/login",
                json={"email": "admin@example.com", "password": "hub-demo-admin"},
            )
            assert login.status_code == 200, login.text
            assert http.get("/ready").json()["checks"] == {"database": "ok", "queue": "ok"}
            # The in-process worker runs jobs in the default mode.
            check = http.post(
                "/api/v1/admin/queue-check", headers={"x-csrf-token": login.json()["csrf_token"]}
            )
            assert check.status_code == 200, check.text
            assert check.json()["result"]["pid"] == proc.process.pid
        assert (data_dir / "pgdata" / "PG_VERSION").is_file()
    finally:
        stopped = proc.stop()
    assert stopped
    assert "Application shutdown complete" in proc.output()
    # The embedded PostgreSQL stops with the last process that used it.
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()


def test_scale_out_serve_and_worker_are_separate_processes(
    clean_db: str, redis_url: str, data_dir: Path
) -> None:
    port = free_port()
    env = _env(
        HUB_DATA_DIR=str(data_dir),
        DATABASE_URL=clean_db,
        REDIS_URL=REDIS_URL,
        HUB_ADMIN_EMAIL="root@example.com",
        HUB_ADMIN_PASSWORD="scale-out-admin",
    )
    web = Proc(["serve", "--port", str(port)], env, data_dir / "web.log")
    worker = Proc(["worker"], env, data_dir / "worker.log")
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, web)
        ran_in = _queue_check_pid(url, "scale-out-admin", worker)
        assert ran_in == worker.process.pid
        assert ran_in != web.process.pid
    finally:
        assert web.stop()
        assert worker.stop()


def test_createadmin_then_login(clean_db: str, data_dir: Path) -> None:
    env = _env(HUB_DATA_DIR=str(data_dir), DATABASE_URL=clean_db)
    result = _run(
        "createadmin", "--email", "Boss@Example.com", "--password", "long enough pw", env=env
    )
    assert result.returncode == 0, result.stderr
    assert "admin boss@example.com" in result.stdout
    short = _run("createadmin", "--email", "x@example.com", "--password", "short", env=env)
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    migrate = _run("migrate", env=env)
    assert migrate.returncode == 0 and "applied 0 migration(s)" in migrate.stdout


def _children(pid: int) -> set[int]:
    """The spawned web processes of a `hub serve --processes` parent (not its resource tracker)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in cmdline:
            found.add(int(entry))
    return found


def test_serve_with_two_processes_shares_the_port_and_runs_a_worker_in_each(
    clean_db: str, data_dir: Path
) -> None:
    port = free_port()
    env = _env(
        HUB_DATA_DIR=str(data_dir),
        DATABASE_URL=clean_db,
        HUB_ADMIN_EMAIL="root@example.com",
        HUB_ADMIN_PASSWORD="two-processes-admin",
        HUB_DB_POOL_SIZE="3",
    )
    web = Proc(["serve", "--port", str(port), "--processes", "2"], env, data_dir / "web.log")
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, web, timeout=120)
        deadline = time.monotonic() + 60
        while len(children := _children(web.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(children) == 2, web.output()
        # Without Redis the job ran in one of the web processes' own workers, not the parent.
        assert _queue_check_pid(url, "two-processes-admin", web) in children
    finally:
        assert web.stop(), web.output()
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)
