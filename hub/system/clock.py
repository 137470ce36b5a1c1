"""The hub's "now", in one place, so that tests can move time instead of sleeping.

Time-driven work (SLA deadlines, warnings) asks `now()`; a test shifts the clock of its process
with `advance()` and restores it with `reset()`. Timestamps written by PostgreSQL (`now()` in
SQL) stay real: only the decisions that compare against a deadline use this clock.
"""

from __future__ import annotations

import datetime as dt

_offset = dt.timedelta(0)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + _offset


def advance(delta: dt.timedelta) -> None:
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = dt.timedelta(0)
