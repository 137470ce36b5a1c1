"""Business hours of a web chat inbox: is the team in now, and if not, when is it back.

Hours are local wall-clock times in the inbox's time zone, so "09:00" stays 09:00 across daylight
saving changes; zoneinfo resolves each day's opening to an instant.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
# How far ahead to look for the next opening (long holidays included).
LOOKAHEAD_DAYS = 60


class Hours(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    timezone: str = "UTC"
    weekly: dict[str, list[tuple[str, str]]] = {}
    holidays: list[str] = []  # ISO dates (YYYY-MM-DD) when the team is out all day


class Availability(msgspec.Struct, frozen=True):
    open: bool
    next_open_at: dt.datetime | None = None  # None when open, or no opening is scheduled


def _minutes(value: str) -> int:
    if not _TIME.match(value):
        raise ValueError(f"hours: {value!r} is not a time of day as HH:MM (00:00 to 24:00)")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def validate(hours: Hours) -> None:
    """Raise ValueError with a sentence for the admin when the hours cannot be used."""
    try:
        ZoneInfo(hours.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"hours.timezone {hours.timezone!r} is not an IANA time zone") from None
    for day, spans in hours.weekly.items():
        if day not in DAYS:
            raise ValueError(f"hours.weekly: {day!r} is not one of {', '.join(DAYS)}")
        for start, end in spans:
            if _minutes(start) >= _minutes(end):
                raise ValueError(
                    f"hours.weekly.{day}: {start}-{end} must end after it starts"
                    " (split a span that crosses midnight in two)"
                )
    for day_text in hours.holidays:
        try:
            dt.date.fromisoformat(day_text)
        except ValueError:
            raise ValueError(f"hours.holidays: {day_text!r} is not a YYYY-MM-DD date") from None


def _at(day: dt.date, minutes: int, zone: ZoneInfo) -> dt.datetime:
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    if minutes == 24 * 60:
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    # Built from wall-clock parts (not midnight + minutes) so DST days keep their local times.
    return midnight.replace(hour=minutes // 60, minute=minutes % 60)


def availability(hours: Hours | None, now: dt.datetime) -> Availability:
    """Open now, or closed with the next opening (None when no hours are set: always open)."""
    if hours is None or not hours.weekly:
        return Availability(open=True)
    zone = ZoneInfo(hours.timezone)
    local = now.astimezone(zone)
    holidays = {dt.date.fromisoformat(d) for d in hours.holidays}
    for offset in range(LOOKAHEAD_DAYS):
        day = local.date() + dt.timedelta(days=offset)
        if day in holidays:
            continue
        spans = sorted(
            (_minutes(s), _minutes(e)) for s, e in hours.weekly.get(DAYS[day.weekday()], [])
        )
        for start, end in spans:
            opens, closes = _at(day, start, zone), _at(day, end, zone)
            if opens <= local < closes:
                return Availability(open=True)
            if opens > local:
                return Availability(open=False, next_open_at=opens.astimezone(dt.UTC))
    return Availability(open=False)
