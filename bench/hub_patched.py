"""`hub` with experimental patches applied in-process, to measure proposed changes without
editing hub/ or web/ (bench/ingest.py --variant NAME=PATCH,PATCH starts it).

    BENCH_HUB_PATCHES=apikey_cache,inbox_cache,no_reset .venv/bin/python bench/hub_patched.py serve

Patches (each a what-if, not production code):
- apikey_cache: API-key principals cached for 30 s per key, so a request does not run
  `UPDATE api_key SET last_used_at = now()` (a write, a commit and a row lock on one row shared by
  every request with that key). A real change would refresh last_used_at at most once a minute
  and drop the cache entry on revocation.
- inbox_cache: the inbox row cached for 5 s in the API-channel handler path (hub.channels.inboxes.get_inbox).
- no_reset: the asyncpg pool releases connections without its reset query (`SELECT
  pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`, one more round trip on every
  release); asyncpg still rolls back an open transaction. The hub takes only transaction-scoped
  advisory locks and LISTENs on its own connection, so the pool has no session state to reset.
"""

from __future__ import annotations

# ruff: noqa: E402  (sys.path is set before the other imports)
import sys
from pathlib import Path

_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

KNOWN = {"apikey_cache", "inbox_cache", "no_reset"}


def ttl_cache(fn: Callable[..., Awaitable[Any]], ttl: float) -> Callable[..., Awaitable[Any]]:
    cache: dict[Any, tuple[float, Any]] = {}

    async def cached(*args: Any, **kwargs: Any) -> Any:
        key = (args, tuple(sorted(kwargs.items())))
        now = time.monotonic()
        hit = cache.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        value = await fn(*args, **kwargs)
        if value is not None:
            cache[key] = (now, value)
        return value

    return cached


def apply(patches: list[str]) -> None:
    unknown = set(patches) - KNOWN
    if unknown:
        sys.exit(
            f"unknown patches: {', '.join(sorted(unknown))} (known: {', '.join(sorted(KNOWN))})"
        )
    if "apikey_cache" in patches:
        from hub.auth import accounts

        accounts.api_key_principal = ttl_cache(accounts.api_key_principal, 30)  # type: ignore[assignment]
    if "inbox_cache" in patches:
        from hub.channels import inboxes

        inboxes.get_inbox = ttl_cache(inboxes.get_inbox, 5)  # type: ignore[assignment]
    if "no_reset" in patches:
        from piccolo.engine.postgres import PostgresEngine

        original = PostgresEngine.start_connection_pool

        async def _no_reset(conn: Any) -> None:
            return None

        async def start_connection_pool(self: PostgresEngine, **kwargs: Any) -> None:
            kwargs.setdefault("reset", _no_reset)
            await original(self, **kwargs)

        PostgresEngine.start_connection_pool = start_connection_pool  # type: ignore[method-assign]


def main() -> None:
    patches = [p for p in os.environ.get("BENCH_HUB_PATCHES", "").split(",") if p]
    apply(patches)
    print(f"hub_patched: {', '.join(patches) or '(none)'}", file=sys.stderr, flush=True)
    from web.cli import main as hub_main

    hub_main(args=sys.argv[1:], prog_name="hub")


if __name__ == "__main__":
    main()
