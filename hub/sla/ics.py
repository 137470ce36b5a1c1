"""Holidays from an iCalendar (.ics) file, for business-hours calendars.

All-day events become date ranges (DTEND is exclusive, per RFC 5545); timed events cover every
date they touch; `RRULE:FREQ=YEARLY` on the event's own date makes a yearly holiday. Any other
recurrence is refused rather than imported wrongly.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import icalendar

from hub.sla.hours import CalendarError, Holiday, check_holiday

_MICROSECOND = timedelta(microseconds=1)


def parse_ics(data: bytes | str) -> list[Holiday]:
    """Holidays from an iCalendar file: one per VEVENT, all-day or timed.

    All-day events cover DTSTART up to DTEND exclusive (RFC 5545), or DURATION, or one day; timed
    events cover every date they touch in their own time zone. RRULE FREQ=YEARLY on the event's
    own date makes the holiday yearly; any other recurrence is refused rather than guessed at.
    """
    try:
        parsed = icalendar.Calendar.from_ical(data)
        events = parsed.walk("VEVENT")
        return [_ics_holiday(event) for event in events]
    except CalendarError:
        raise
    except ValueError as exc:
        raise CalendarError(f"holiday file does not parse: {exc}") from exc


def _ics_holiday(event: icalendar.Component) -> Holiday:
    name = str(event.get("SUMMARY", ""))
    if event.get("DTSTART") is None:
        raise CalendarError(f"holiday file does not parse: event {name!r} has no DTSTART")
    start = event.decoded("DTSTART")
    # icalendar keeps an unparseable value as text instead of failing.
    if not isinstance(start, date):
        raise CalendarError(f"holiday file does not parse: event {name!r} has an invalid DTSTART")
    if event.get("DTEND") is not None:
        end = event.decoded("DTEND")
    elif event.get("DURATION") is not None:
        end = start + event.decoded("DURATION")
    else:
        end = start if isinstance(start, datetime) else start + timedelta(days=1)
    if not isinstance(end, date):
        raise CalendarError(f"holiday file does not parse: event {name!r} has an invalid DTEND")
    mixed = CalendarError(f"holiday file does not parse: event {name!r} mixes dates and times")
    if isinstance(start, datetime):
        if not isinstance(end, datetime):
            raise mixed
        first = start.date()
        last = (end - _MICROSECOND).date() if end > start else first
    else:
        if isinstance(end, datetime):
            raise mixed
        first, last = start, end - timedelta(days=1)
    if last < first:
        raise CalendarError(f"holiday {name!r} ends {last} before it starts {first}")
    rule = event.get("RRULE")
    if isinstance(rule, list):
        raise CalendarError(f"holiday {name!r}: more than one RRULE is not supported")
    yearly = rule is not None and _yearly_rule(rule, first, name)
    holiday = Holiday(start=first, end=last, yearly=yearly, name=name)
    check_holiday(holiday)
    return holiday


def _yearly_rule(rule: icalendar.vRecur, first: date, name: str) -> bool:
    parts = {key.upper(): list(value) for key, value in rule.items()}
    parts.pop("WKST", None)
    same_date = (
        parts.pop("FREQ", None) == ["YEARLY"]
        and [int(v) for v in parts.pop("INTERVAL", [1])] == [1]
        and [int(v) for v in parts.pop("BYMONTH", [first.month])] == [first.month]
        and [int(v) for v in parts.pop("BYMONTHDAY", [first.day])] == [first.day]
    )
    if not same_date or parts:
        text = rule.to_ical().decode()
        raise CalendarError(
            f"holiday {name!r}: recurrence {text} is not supported, only FREQ=YEARLY on its own date"
        )
    return True
