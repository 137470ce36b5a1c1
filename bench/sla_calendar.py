"""SLA deadline arithmetic: computations per second in one process.

A typical calendar (Europe/Berlin, Monday to Friday 09:00-17:00, German public holidays), start
times spread over a year (2026, both DST changes included), targets from 15 minutes to 3 business
days. Reports add_business_minutes and business_minutes_between throughput, with the calendar
passed as the stored struct (compiled form looked up by value) and as the compiled form, plus
calendar-time deadlines for comparison. Prints one JSON line last.

    .venv/bin/python bench/sla_calendar.py            # 200,000 calls per figure, best of 3
    .venv/bin/python bench/sla_calendar.py --calls 50000 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from hub.sla.calendar import (
    add_business_minutes,
    business_minutes_between,
    compile_calendar,
    deadline,
)
from hub.sla.hours import BusinessCalendar, Holiday, Interval

DAY = (Interval("09:00", "17:00"),)
HOLIDAYS = (
    Holiday(date(2026, 1, 1), date(2026, 1, 1), yearly=True, name="New Year"),
    Holiday(date(2026, 4, 3), date(2026, 4, 6), name="Easter"),
    Holiday(date(2026, 5, 1), date(2026, 5, 1), yearly=True, name="Labour Day"),
    Holiday(date(2026, 5, 14), date(2026, 5, 14), name="Ascension"),
    Holiday(date(2026, 5, 25), date(2026, 5, 25), name="Whit Monday"),
    Holiday(date(2026, 10, 3), date(2026, 10, 3), yearly=True, name="Unity Day"),
    Holiday(date(2026, 12, 24), date(2026, 12, 26), yearly=True, name="Christmas"),
)
CALENDAR = BusinessCalendar("Europe/Berlin", (DAY,) * 5 + ((), ()), HOLIDAYS)
# Minutes: 15 min, 30 min, 1 h, 4 h, 1, 2 and 3 business days.
TARGETS = (15, 30, 60, 240, 480, 960, 1440)


def _measure(label: str, calls: int, rounds: int, run: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - began)
    rate = calls / best
    print(f"{label:<52} {rate:>12,.0f} /s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    rng = random.Random(15)
    year = datetime(2026, 1, 1, tzinfo=UTC)
    starts = [year + timedelta(seconds=rng.randrange(365 * 86_400)) for _ in range(args.calls)]
    targets = [rng.choice(TARGETS) for _ in range(args.calls)]
    ends = [s + timedelta(minutes=rng.randrange(15, 7 * 1440)) for s in starts]
    pairs = list(zip(starts, targets, strict=True))
    spans = list(zip(starts, ends, strict=True))
    compiled = compile_calendar(CALENDAR)
    # Segments are built lazily per year; build them before timing the steady state.
    for s, m in pairs[:1000]:
        add_business_minutes(compiled, s, m)

    def add_struct() -> None:
        for s, m in pairs:
            add_business_minutes(CALENDAR, s, m)

    def add_compiled() -> None:
        for s, m in pairs:
            add_business_minutes(compiled, s, m)

    def add_paused() -> None:
        for s, m in pairs:
            add_business_minutes(compiled, s, m, [(s, s + timedelta(minutes=90))])

    def between_compiled() -> None:
        for s, e in spans:
            business_minutes_between(compiled, s, e)

    def between_struct() -> None:
        for s, e in spans:
            business_minutes_between(CALENDAR, s, e)

    def calendar_time() -> None:
        for s, m in pairs:
            deadline(None, s, m)

    n, r = args.calls, args.rounds
    results = {
        "add_business_minutes_struct": _measure(
            "add_business_minutes (BusinessCalendar)", n, r, add_struct
        ),
        "add_business_minutes_compiled": _measure(
            "add_business_minutes (CompiledCalendar)", n, r, add_compiled
        ),
        "add_business_minutes_one_pause": _measure(
            "add_business_minutes, one pause (compiled)", n, r, add_paused
        ),
        "business_minutes_between_struct": _measure(
            "business_minutes_between (BusinessCalendar)", n, r, between_struct
        ),
        "business_minutes_between_compiled": _measure(
            "business_minutes_between (CompiledCalendar)", n, r, between_compiled
        ),
        "deadline_calendar_time": _measure(
            "deadline(None, ...) calendar time", n, r, calendar_time
        ),
    }
    print(
        json.dumps(
            {"calls": n, "rounds": r, "per_second": {k: round(v) for k, v in results.items()}}
        )
    )


if __name__ == "__main__":
    main()
