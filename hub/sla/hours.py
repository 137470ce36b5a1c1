"""The shape of a business-hours calendar and its validation, with a message per problem."""

from __future__ import annotations

import re
from datetime import date
from itertools import pairwise
from zoneinfo import ZoneInfo

import msgspec

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d|24:00")


class CalendarError(ValueError):
    """A calendar, a holiday file or a walk that cannot give an answer."""


class Interval(msgspec.Struct, frozen=True):
    """Open from `start` to `end` (exclusive), local wall-clock "HH:MM"; `end` may be "24:00"."""

    start: str
    end: str


class Holiday(msgspec.Struct, frozen=True):
    """Closed from `start` to `end` inclusive (local dates); `yearly` repeats it every year."""

    start: date
    end: date
    yearly: bool = False
    name: str = ""


class BusinessCalendar(msgspec.Struct, frozen=True):
    """`weekly` has 7 entries, Monday first, each the open intervals of that weekday.

    Frozen and made of tuples so that it hashes: `compile_calendar` caches by value.
    """

    timezone: str
    weekly: tuple[tuple[Interval, ...], ...]
    holidays: tuple[Holiday, ...] = ()


def _minutes(text: str, day: str) -> int:
    if not _HHMM.fullmatch(text):
        raise CalendarError(f"{day}: malformed time {text!r}, expected HH:MM")
    return int(text[:2]) * 60 + int(text[3:])


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        raise CalendarError(f"unknown time zone {name!r}") from None


def weekly_minutes(calendar: BusinessCalendar) -> tuple[tuple[tuple[int, int], ...], ...]:
    if len(calendar.weekly) != 7:
        raise CalendarError(
            f"weekly hours must list 7 days, Monday first, got {len(calendar.weekly)}"
        )
    days = []
    for name, intervals in zip(DAY_NAMES, calendar.weekly, strict=True):
        parsed = []
        for interval in intervals:
            start, end = _minutes(interval.start, name), _minutes(interval.end, name)
            text = f"{interval.start}-{interval.end}"
            if end == start:
                raise CalendarError(f"{name}: interval {text} is empty")
            if end < start:
                raise CalendarError(f"{name}: interval {text} ends before it starts")
            parsed.append((start, end, text))
        parsed.sort()
        for before, after in pairwise(parsed):
            if after[0] < before[1]:
                raise CalendarError(f"{name}: intervals {before[2]} and {after[2]} overlap")
        days.append(tuple((start, end) for start, end, _ in parsed))
    if not any(days):
        raise CalendarError("calendar has no business hours")
    return tuple(days)


def check_holiday(holiday: Holiday) -> None:
    if holiday.end < holiday.start:
        raise CalendarError(
            f"holiday {holiday.name!r} ends {holiday.end} before it starts {holiday.start}"
        )
    # A longer one would overlap its own next occurrence.
    year = holiday.start.year + 1
    next_start = date(year, *month_day(year, holiday.start.month, holiday.start.day))
    if holiday.yearly and holiday.end >= next_start:
        raise CalendarError(f"yearly holiday {holiday.name!r} must last less than a year")


def validate(calendar: BusinessCalendar) -> None:
    """Raise `CalendarError` with a message for the first problem found in `calendar`."""
    zone(calendar.timezone)
    weekly_minutes(calendar)
    for holiday in calendar.holidays:
        check_holiday(holiday)


def month_day(year: int, month: int, day: int) -> tuple[int, int]:
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return (2, 28)
    return (month, day)
