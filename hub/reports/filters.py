"""What a report covers: a date range in the account's time zone, filters, and a grouping."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

PERIODS = ("day", "week", "month")
DIMENSIONS = {"inbox": "inbox", "channel": "channel", "team": "team", "agent": "agent",
              "priority": "priority", "tag": "tag"}  # fmt: skip
MAX_DAYS = 731
_DIMENSIONS = ("inbox", "channel", "team", "agent", "priority")


class ReportInputError(ValueError):
    """A report parameter is malformed; `field` names it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.field = name


@dataclass(frozen=True)
class Filters:
    inbox: int | None = None
    channel: str | None = None
    team: int | None = None
    agent: int | None = None
    tag: str | None = None
    priority: str | None = None

    def dimensioned(self) -> bool:
        """Whether a filter other than the tag is set (the daily totals cannot answer)."""
        return any(getattr(self, name) is not None for name in _DIMENSIONS)

    def where(self, params: list[Any], *, tag_rows: bool = False, level: str | None = None) -> str:
        """SQL conditions for the rollup tables; appends their values to `params`.

        Without a tag filter the rows with tag '' count each conversation once; with one, that
        tag's rows. `tag_rows` (the tag table) takes every tag's rows instead. On the daily
        tables `level` picks the per-day totals ("total") or the per-dimension rows ("detail").
        """
        parts: list[str] = []
        if level == "total":
            parts.append("inbox = -1")
        elif level == "detail":
            parts.append("inbox >= 0")
        if tag_rows:
            parts.append("tag <> ''")
            if self.tag is not None:
                params.append(self.tag)
                parts.append(f"tag = ${len(params)}")
        else:
            params.append(self.tag or "")
            parts.append(f"tag = ${len(params)}")
        for name in _DIMENSIONS:
            value = getattr(self, name)
            if value is not None:
                params.append(value)
                parts.append(f"{name} = ${len(params)}")
        return " AND ".join(parts)


@dataclass(frozen=True)
class Range:
    """Whole local days [first, last] in `tz`."""

    first: dt.date
    last: dt.date
    tz: str
    zone: zoneinfo.ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", zoneinfo.ZoneInfo(self.tz))
        if self.last < self.first:
            raise ReportInputError("to", "must not be before 'from'")
        if (self.last - self.first).days >= MAX_DAYS:
            raise ReportInputError("to", f"a report covers at most {MAX_DAYS} days")

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), self.zone)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), self.zone)

    def periods(self, period: str) -> list[dt.date]:
        """The first day of every day / week (Monday) / month the range touches."""
        out: list[dt.date] = []
        day = period_start(self.first, period)
        while day <= self.last:
            out.append(day)
            day = next_period(day, period)
        return out


def period_start(day: dt.date, period: str) -> dt.date:
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def next_period(day: dt.date, period: str) -> dt.date:
    if period == "week":
        return day + dt.timedelta(days=7)
    if period == "month":
        return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return day + dt.timedelta(days=1)


def parse_range(raw_from: str | None, raw_to: str | None, tz: str, today: dt.date) -> Range:
    """`from`/`to` as YYYY-MM-DD (inclusive), default the last 30 days up to today."""

    def day(name: str, raw: str | None, default: dt.date) -> dt.date:
        if not raw:
            return default
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise ReportInputError(name, "must be a date, YYYY-MM-DD") from None

    last = day("to", raw_to, today)
    first = day("from", raw_from, last - dt.timedelta(days=29))
    return Range(first, last, tz)


def parse_period(raw: str | None, name: str = "group_by") -> str:
    value = raw or "day"
    if value not in PERIODS:
        raise ReportInputError(name, f"must be one of {', '.join(PERIODS)}")
    return value
