"""Business-time arithmetic for SLA deadlines: pure, no I/O.

A `BusinessCalendar` names a time zone, the open intervals of each weekday (Monday first) in
local wall-clock time, and holidays (local dates). Time is measured in minutes; instants go in and
come out as aware datetimes (results are always UTC).

Rules every function here follows:

- An instant is business time when the calendar's wall clock, at that instant, reads a time inside
  an open interval of that local day, and the local date is not a holiday. So a 09:00-17:00 day is
  8 real hours even on a DST-change day unless the change falls inside it, and then the real
  elapsed time counts (01:00-04:00 is 2 hours on the spring night, 4 hours on the autumn night).
  A boundary that names a nonexistent local time (inside the spring gap) takes effect at the gap's
  end, the first instant the clock reads past it; a repeated (autumn) wall time is open on both of
  its occurrences. This is what a person looking at the office clock sees, and it is what the
  test suite's minute-by-minute reference checks; zoneinfo's fold=0 resolution of each boundary
  would instead make intervals overlap or invert around the gap.
- A target of 0 minutes is due at the moment it started, whether or not that moment is business
  time: nothing has to happen before the deadline, so it is already met or already due.
- A target that fits exactly into an open interval is due at its closing time, not at the next
  opening: the deadline is the earliest instant at which the business time has elapsed.
- Pauses are real-time intervals [start, end) during which the clock is stopped (the conversation
  was pending or snoozed); they may overlap each other and may lie outside business hours.
- Yearly holidays repeat on the same month and day; one dated 29 February is observed on
  28 February in common years.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from hub.sla.hours import (
    BusinessCalendar,
    CalendarError,
    month_day,
    validate,
    weekly_minutes,
    zone,
)

Pause = tuple[datetime, datetime]

_US = timedelta(microseconds=1)
_ZERO = timedelta(0)
_MINUTE = 60_000_000
_DAY = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# 1970-01-01 was a Thursday: (days since the epoch + 3) % 7 is the weekday, Monday=0.
_EPOCH_WEEKDAY = 3
# Offsets are sampled this often to find DST transitions: a change and its reversal within one
# step would go unseen, and no zone has ever had one.
_SAMPLE = 6 * 3_600_000_000
# A deadline further out than this means the calendar is (nearly) always closed: stop walking.
MAX_WALK_YEARS = 3


class _Chunk:
    """The open segments of one UTC year, as sorted epoch microseconds.

    `cum[i]` is the business time from the start of the year to the end of segment i, so a
    position in business time maps back to an instant with one bisection.
    """

    __slots__ = ("cum", "ends", "starts", "total")

    def __init__(self, starts: list[int], ends: list[int]) -> None:
        self.starts, self.ends = starts, ends
        self.cum: list[int] = []
        running = 0
        for start, end in zip(starts, ends, strict=True):
            running += end - start
            self.cum.append(running)
        self.total = running

    def position(self, t: int) -> int:
        """Business time from the start of the chunk up to `t`."""
        i = bisect_right(self.starts, t) - 1
        if i < 0:
            return 0
        over = self.ends[i] - t
        return self.cum[i] - over if over > 0 else self.cum[i]

    def instant(self, p: int) -> int:
        """The earliest instant at which `p` (0 < p <= total) of business time has elapsed."""
        j = bisect_left(self.cum, p)
        return self.ends[j] - (self.cum[j] - p)


class CompiledCalendar:
    """A validated calendar with its open segments built lazily, one UTC year at a time."""

    __slots__ = ("_chunks", "_fixed", "_yearly", "calendar", "weekly_minutes", "zone")

    def __init__(self, calendar: BusinessCalendar) -> None:
        validate(calendar)
        self.calendar = calendar
        self.zone = zone(calendar.timezone)
        self.weekly_minutes = weekly_minutes(calendar)
        self._fixed = [
            (h.start.toordinal(), h.end.toordinal()) for h in calendar.holidays if not h.yearly
        ]
        self._yearly = [
            (h.start.month, h.start.day, h.end.month, h.end.day, h.end.year != h.start.year)
            for h in calendar.holidays
            if h.yearly
        ]
        self._chunks: dict[int, _Chunk] = {}

    def is_holiday(self, day: date) -> bool:
        ordinal = day.toordinal()
        if any(first <= ordinal <= last for first, last in self._fixed):
            return True
        today = (day.month, day.day)
        for start_month, start_day, end_month, end_day, wraps in self._yearly:
            first_md = month_day(day.year, start_month, start_day)
            last_md = month_day(day.year, end_month, end_day)
            if wraps:
                if today >= first_md or today <= last_md:
                    return True
            elif first_md <= today <= last_md:
                return True
        return False

    def _offset(self, t: int) -> int:
        local = (_EPOCH + timedelta(microseconds=t)).astimezone(self.zone)
        return (local.utcoffset() or _ZERO) // _US

    def _pieces(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """Split [lo, hi) into (start, end, UTC offset) pieces at each offset change."""
        pieces = []
        begin, offset, t = lo, self._offset(lo), lo
        while t < hi:
            step = min(t + _SAMPLE, hi)
            while self._offset(step) != offset:
                # Bisect down to the microsecond: the offset is `offset` at a, another at b.
                a, b = t, step
                while b - a > 1:
                    mid = (a + b) // 2
                    a, b = (mid, b) if self._offset(mid) == offset else (a, mid)
                if b < hi:
                    pieces.append((begin, b, offset))
                    begin, offset = b, self._offset(b)
                t = b
                if b >= hi:
                    break
            t = step
        pieces.append((begin, hi, offset))
        return pieces

    def _build(self, year: int) -> _Chunk:
        if not 1 < year < 9999:
            raise CalendarError(f"year {year} is outside the supported range")
        lo = (date(year, 1, 1).toordinal() - _EPOCH_ORDINAL) * _DAY
        hi = (date(year + 1, 1, 1).toordinal() - _EPOCH_ORDINAL) * _DAY
        starts: list[int] = []
        ends: list[int] = []
        for begin, end, offset in self._pieces(lo, hi):
            wall_lo, wall_hi = begin + offset, end + offset
            for day in range(wall_lo // _DAY, (wall_hi - 1) // _DAY + 1):
                intervals = self.weekly_minutes[(day + _EPOCH_WEEKDAY) % 7]
                if not intervals or self.is_holiday(date.fromordinal(day + _EPOCH_ORDINAL)):
                    continue
                midnight = day * _DAY
                for open_at, close_at in intervals:
                    a = max(midnight + open_at * _MINUTE, wall_lo) - offset
                    b = min(midnight + close_at * _MINUTE, wall_hi) - offset
                    if a >= b:
                        continue
                    # Each instant has one wall reading, so segments never overlap; joining
                    # the touching ones (24:00 then 00:00) keeps the lists short.
                    if ends and ends[-1] == a:
                        ends[-1] = b
                    else:
                        starts.append(a)
                        ends.append(b)
        return _Chunk(starts, ends)

    def _chunk(self, year: int) -> _Chunk:
        chunk = self._chunks.get(year)
        if chunk is None:
            chunk = self._chunks[year] = self._build(year)
        return chunk

    def advance(self, t: int, need: int) -> int:
        """The instant `need` (> 0) microseconds of business time after `t`."""
        year = _utc_year(t)
        chunk = self._chunk(year)
        p = chunk.position(t) + need
        last = year + MAX_WALK_YEARS
        while p > chunk.total:
            p -= chunk.total
            year += 1
            if year > last:
                raise CalendarError(
                    f"no business hours within {MAX_WALK_YEARS} years after {_from_us(t).isoformat()}"
                )
            chunk = self._chunk(year)
        return chunk.instant(p)

    def between(self, a: int, b: int) -> int:
        """Business microseconds in [a, b), for a <= b."""
        first, last = _utc_year(a), _utc_year(b)
        chunk = self._chunk(first)
        if first == last:
            return chunk.position(b) - chunk.position(a)
        total = chunk.total - chunk.position(a)
        for year in range(first + 1, last):
            total += self._chunk(year).total
        return total + self._chunk(last).position(b)


@lru_cache(maxsize=256)
def _compile_cached(calendar: BusinessCalendar) -> CompiledCalendar:
    return CompiledCalendar(calendar)


def compile_calendar(calendar: BusinessCalendar) -> CompiledCalendar:
    """Validate and compile `calendar`, cached by value so repeated calls are cheap."""
    try:
        return _compile_cached(calendar)
    except TypeError:
        # Built in Python with lists instead of tuples: correct, just not cacheable.
        return CompiledCalendar(calendar)


def _compiled(calendar: BusinessCalendar | CompiledCalendar) -> CompiledCalendar:
    return calendar if isinstance(calendar, CompiledCalendar) else compile_calendar(calendar)


def _utc_year(t: int) -> int:
    return date.fromordinal(t // _DAY + _EPOCH_ORDINAL).year


def _to_us(moment: datetime) -> int:
    if moment.utcoffset() is None:
        raise ValueError(f"datetime {moment.isoformat()} has no time zone")
    return (moment - _EPOCH) // _US


def _from_us(t: int) -> datetime:
    return _EPOCH + timedelta(microseconds=t)


def _need(minutes: float) -> int:
    if not math.isfinite(minutes) or minutes < 0:
        raise ValueError(f"minutes must be a finite number >= 0, got {minutes}")
    return round(minutes * _MINUTE)


def _merge(pauses: Iterable[Pause], lo: int) -> list[tuple[int, int]]:
    """Pauses as sorted, disjoint microsecond intervals, clipped to start at `lo`."""
    if not pauses:
        return []
    spans = sorted((max(_to_us(a), lo), _to_us(b)) for a, b in pauses)
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if a >= b:
            continue
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def add_business_minutes(
    calendar: BusinessCalendar | CompiledCalendar,
    start: datetime,
    minutes: float,
    pauses: Iterable[Pause] = (),
) -> datetime:
    """The earliest instant (UTC) by which `minutes` of business time have elapsed after `start`.

    Closed hours, holidays and `pauses` do not count. 0 minutes returns `start` itself. Raises
    `CalendarError` when the calendar stays closed for more than `MAX_WALK_YEARS` years.
    """
    compiled = _compiled(calendar)
    need, t = _need(minutes), _to_us(start)
    if need == 0:
        return start.astimezone(UTC)
    if not pauses:
        return _from_us(compiled.advance(t, need))
    cursor = t
    for a, b in _merge(pauses, t):
        available = compiled.between(cursor, a) if a > cursor else 0
        if available >= need:
            break
        need -= available
        cursor = max(cursor, b)
    return _from_us(compiled.advance(cursor, need))


def business_minutes_between(
    calendar: BusinessCalendar | CompiledCalendar,
    start: datetime,
    end: datetime,
    pauses: Iterable[Pause] = (),
) -> float:
    """Business minutes elapsed from `start` to `end`, less `pauses`; 0.0 if `end` <= `start`."""
    compiled = _compiled(calendar)
    a, b = _to_us(start), _to_us(end)
    if b <= a:
        return 0.0
    total = compiled.between(a, b)
    for pause_start, pause_end in _merge(pauses, a):
        if pause_start >= b:
            break
        total -= compiled.between(pause_start, min(pause_end, b))
    return total / _MINUTE


def add_minutes(start: datetime, minutes: float, pauses: Iterable[Pause] = ()) -> datetime:
    """Calendar-time (24/7) counterpart of `add_business_minutes`."""
    need, t = _need(minutes), _to_us(start)
    if need == 0:
        return start.astimezone(UTC)
    cursor = t
    for a, b in _merge(pauses, t):
        if a - cursor >= need:
            break
        need -= max(0, a - cursor)
        cursor = max(cursor, b)
    return _from_us(cursor + need)


def minutes_between(start: datetime, end: datetime, pauses: Iterable[Pause] = ()) -> float:
    """Calendar-time (24/7) counterpart of `business_minutes_between`."""
    a, b = _to_us(start), _to_us(end)
    if b <= a:
        return 0.0
    paused = sum(min(pe, b) - ps for ps, pe in _merge(pauses, a) if ps < b)
    return (b - a - paused) / _MINUTE


def deadline(
    calendar: BusinessCalendar | CompiledCalendar | None,
    start: datetime,
    minutes: float,
    pauses: Iterable[Pause] = (),
) -> datetime:
    """When a target of `minutes` started at `start` is due; `calendar` None means 24/7."""
    if calendar is None:
        return add_minutes(start, minutes, pauses)
    return add_business_minutes(calendar, start, minutes, pauses)


def elapsed(
    calendar: BusinessCalendar | CompiledCalendar | None,
    start: datetime,
    end: datetime,
    pauses: Iterable[Pause] = (),
) -> float:
    """Minutes counted from `start` to `end` under `calendar`; None means 24/7."""
    if calendar is None:
        return minutes_between(start, end, pauses)
    return business_minutes_between(calendar, start, end, pauses)
