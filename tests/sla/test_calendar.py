"""Business-time arithmetic against a minute-by-minute reference, and its named edge cases.

The reference below knows nothing of the implementation's segments: it steps through UTC one
minute at a time, asks zoneinfo what the wall clock reads and checks that reading against the
calendar's intervals, holidays and the pauses.
"""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hub.sla.calendar import (
    add_business_minutes,
    add_minutes,
    business_minutes_between,
    compile_calendar,
    deadline,
    elapsed,
    minutes_between,
    validate,
)
from hub.sla.hours import BusinessCalendar, CalendarError, Holiday, Interval
from hub.sla.ics import parse_ics

MINUTE = timedelta(minutes=1)
WINDOW_DAYS = 14
Pauses = list[tuple[datetime, datetime]]

# --- the reference -------------------------------------------------------------------------------


def _hhmm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _anniversary(day: date, year: int) -> date:
    if (day.month, day.day) == (2, 29) and not stdlib_calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def ref_holiday(holiday: Holiday, day: date) -> bool:
    if not holiday.yearly:
        return holiday.start <= day <= holiday.end
    span = holiday.end.year - holiday.start.year
    return any(
        _anniversary(holiday.start, year) <= day <= _anniversary(holiday.end, year + span)
        for year in (day.year - 1, day.year)
    )


class Reference:
    """Is the minute starting at an instant counted: open on the wall clock, not a holiday, not paused."""

    def __init__(self, cal: BusinessCalendar, pauses: Pauses) -> None:
        self.cal, self.pauses, self.zone = cal, pauses, ZoneInfo(cal.timezone)
        self.hours = [[(_hhmm(i.start), _hhmm(i.end)) for i in day] for day in cal.weekly]
        # Memoised per date only because holidays are a pure function of the date.
        self.holidays: dict[date, bool] = {}

    def counted(self, moment: datetime) -> bool:
        if any(a <= moment < b for a, b in self.pauses):
            return False
        wall = moment.astimezone(self.zone)
        day = wall.date()
        if day not in self.holidays:
            self.holidays[day] = any(ref_holiday(h, day) for h in self.cal.holidays)
        if self.holidays[day]:
            return False
        clock = wall.hour * 60 + wall.minute
        return any(a <= clock < b for a, b in self.hours[wall.weekday()])

    def deadline(self, start: datetime, minutes: int, window: int) -> datetime | None:
        """`start` plus `minutes` counted minutes, or None if not reached within `window` minutes."""
        if minutes == 0:
            return start
        seen = 0
        for k in range(window):
            seen += self.counted(start + k * MINUTE)
            if seen == minutes:
                return start + (k + 1) * MINUTE
        return None

    def between(self, start: datetime, span: int) -> int:
        return sum(self.counted(start + k * MINUTE) for k in range(span))


# --- strategies ----------------------------------------------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata"]
# Starts cluster around the 2026 DST changes (UTC) and the turn of the year.
ANCHORS = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 12, 31, 12, tzinfo=UTC),
]


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def day_hours(draw: st.DrawFn) -> tuple[Interval, ...]:
    # Quarter hours, so boundaries land inside DST gaps and folds too.
    points = sorted(draw(st.lists(st.integers(0, 96), unique=True, max_size=6)))
    points = points[: len(points) // 2 * 2]
    return tuple(
        Interval(_fmt(points[i] * 15), _fmt(points[i + 1] * 15)) for i in range(0, len(points), 2)
    )


@st.composite
def holidays(draw: st.DrawFn) -> Holiday:
    start = draw(
        st.sampled_from([date(2024, 2, 29), date(2025, 12, 30), date(2026, 3, 29)])
        | st.dates(date(2025, 12, 1), date(2027, 1, 10))
    )
    return Holiday(
        start=start,
        end=start + timedelta(days=draw(st.integers(0, 4))),
        yearly=draw(st.booleans()),
        name="h",
    )


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    weekly = tuple(draw(day_hours()) for _ in range(7))
    if not any(weekly):
        weekly = ((Interval("09:00", "17:00"),), *weekly[1:])
    return BusinessCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        weekly=weekly,
        holidays=tuple(draw(st.lists(holidays(), max_size=4))),
    )


@st.composite
def starts(draw: st.DrawFn) -> datetime:
    if draw(st.booleans()):
        base = draw(st.sampled_from(ANCHORS))
        return base + draw(st.integers(-3 * 1440, 3 * 1440)) * MINUTE
    return datetime(2026, 1, 1, tzinfo=UTC) + draw(st.integers(0, 366 * 1440)) * MINUTE


@st.composite
def pause_lists(draw: st.DrawFn, start: datetime) -> Pauses:
    pauses = []
    for _ in range(draw(st.integers(0, 3))):
        begin = start + draw(st.integers(-600, 10_000)) * MINUTE
        pauses.append((begin, begin + draw(st.integers(0, 2_000)) * MINUTE))
    return pauses


# --- properties ----------------------------------------------------------------------------------

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(cal=calendars(), start=starts(), minutes=st.integers(0, 2_500), data=st.data())
def test_add_matches_reference(
    cal: BusinessCalendar, start: datetime, minutes: int, data: st.DataObject
) -> None:
    pauses = data.draw(pause_lists(start))
    expected = Reference(cal, pauses).deadline(start, minutes, WINDOW_DAYS * 1440)
    got = add_business_minutes(cal, start, minutes, pauses)
    if expected is None:
        assert got > start + WINDOW_DAYS * timedelta(days=1)
    else:
        assert got == expected
    assert got.tzinfo is UTC


@FAST
@given(cal=calendars(), start=starts(), span=st.integers(0, WINDOW_DAYS * 1440), data=st.data())
def test_between_matches_reference(
    cal: BusinessCalendar, start: datetime, span: int, data: st.DataObject
) -> None:
    pauses = data.draw(pause_lists(start))
    expected = Reference(cal, pauses).between(start, span)
    assert business_minutes_between(cal, start, start + span * MINUTE, pauses) == expected


@settings(max_examples=300, deadline=None)
@given(
    cal=calendars(),
    start=starts(),
    seconds=st.integers(0, 59_999_999),
    minutes=st.integers(0, 20_000) | st.floats(0, 5_000, allow_nan=False),
    data=st.data(),
)
def test_between_inverts_add(
    cal: BusinessCalendar, start: datetime, seconds: int, minutes: float, data: st.DataObject
) -> None:
    start += timedelta(microseconds=seconds)
    pauses = data.draw(pause_lists(start))
    due = add_business_minutes(cal, start, minutes, pauses)
    assert business_minutes_between(cal, start, due, pauses) == pytest.approx(minutes, abs=1e-6)
    # Earliest: a microsecond before the deadline the target was not yet met.
    if minutes >= 1e-6:
        early = business_minutes_between(cal, start, due - timedelta(microseconds=1), pauses)
        assert early < minutes


def _open_minutes(day: tuple[Interval, ...]) -> int:
    def minute(text: str) -> int:
        return int(text[:2]) * 60 + int(text[3:])

    return sum(minute(i.end) - minute(i.start) for i in day)


@settings(max_examples=300, deadline=None)
@given(
    cal=calendars(),
    start=starts(),
    later=st.integers(0, 5 * 1440),
    minutes=st.integers(0, 5_000),
    more=st.integers(0, 5_000),
    data=st.data(),
)
def test_monotonic(
    cal: BusinessCalendar,
    start: datetime,
    later: int,
    minutes: int,
    more: int,
    data: st.DataObject,
) -> None:
    pauses = data.draw(pause_lists(start))
    weekly = sum(_open_minutes(day) for day in cal.weekly)
    # A calendar open a few minutes a week cannot fit thousands of minutes within the walk
    # limit (3 years), which is refused by design (see test_a_calendar_closed_for_years_stops_walking); keep to what fits.
    assume(weekly * 52 * 2 >= minutes + more)
    due = add_business_minutes(cal, start, minutes, pauses)
    assert due >= start
    assert add_business_minutes(cal, start, minutes + more, pauses) >= due
    assert add_business_minutes(cal, start + later * MINUTE, minutes, pauses) >= due


@settings(max_examples=200, deadline=None)
@given(start=starts(), minutes=st.integers(0, 5_000), data=st.data())
def test_calendar_time_matches_reference(
    start: datetime, minutes: int, data: st.DataObject
) -> None:
    pauses = data.draw(pause_lists(start))
    expected, seen = start, 0
    while seen < minutes:
        seen += not any(a <= expected < b for a, b in pauses)
        expected += MINUTE
    assert deadline(None, start, minutes, pauses) == expected
    assert elapsed(None, start, expected, pauses) == minutes
    assert minutes_between(start, expected, pauses) == minutes


# --- named cases ---------------------------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = (Interval("09:00", "17:00"),)
OFFICE = BusinessCalendar("Europe/Berlin", (NINE_TO_FIVE,) * 5 + ((), ()))


def local(
    zone: ZoneInfo,
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=zone)


def every_day(zone: str, *intervals: tuple[str, str]) -> BusinessCalendar:
    return BusinessCalendar(zone, (tuple(Interval(a, b) for a, b in intervals),) * 7)


def test_friday_night_message_is_due_monday() -> None:
    friday = local(BERLIN, 2026, 3, 27, 23, 59)
    assert add_business_minutes(OFFICE, friday, 60) == local(BERLIN, 2026, 3, 30, 10, 0)
    assert add_business_minutes(OFFICE, friday, 480) == local(BERLIN, 2026, 3, 30, 17, 0)
    assert add_business_minutes(OFFICE, friday, 481) == local(BERLIN, 2026, 3, 31, 9, 1)
    assert add_business_minutes(OFFICE, friday, 3 * 480) == local(BERLIN, 2026, 4, 1, 17, 0)


def test_holiday_on_monday_skips_to_tuesday() -> None:
    easter = BusinessCalendar(
        "Europe/Berlin", OFFICE.weekly, (Holiday(date(2026, 4, 6), date(2026, 4, 6)),)
    )
    friday = local(BERLIN, 2026, 4, 3, 16, 0)
    assert add_business_minutes(easter, friday, 120) == local(BERLIN, 2026, 4, 7, 10, 0)
    monday = local(BERLIN, 2026, 4, 6, 12, 0)
    assert business_minutes_between(easter, friday, monday) == 60


@pytest.mark.parametrize(
    ("zone", "spring", "autumn"),
    [
        ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
        ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
    ],
)
def test_dst_nights_count_real_time(zone: str, spring: date, autumn: date) -> None:
    tz = ZoneInfo(zone)
    always = every_day(zone, ("00:00", "24:00"))
    night = every_day(zone, ("01:00", "04:00"))

    def midnight(day: date) -> datetime:
        return local(tz, day.year, day.month, day.day)

    def at(day: date, hour: int) -> datetime:
        return local(tz, day.year, day.month, day.day, hour)

    for day, hours in ((spring, 23), (autumn, 25)):
        next_day = midnight(day + timedelta(days=1))
        assert business_minutes_between(always, midnight(day), next_day) == hours * 60
        assert add_business_minutes(always, midnight(day), 24 * 60) == next_day + timedelta(
            hours=24 - hours
        )
    assert business_minutes_between(night, at(spring, 1), at(spring, 4)) == 120
    assert business_minutes_between(night, at(autumn, 1), at(autumn, 4)) == 240
    # The spring night has only 2 open hours, so the third falls on the next night.
    after = spring + timedelta(days=1)
    assert add_business_minutes(night, at(spring, 1), 180) == at(after, 2)
    # An ordinary 09:00-17:00 day is 8 hours on both change days.
    day_shift = every_day(zone, ("09:00", "17:00"))
    for day in (spring, autumn):
        next_day = midnight(day + timedelta(days=1))
        assert business_minutes_between(day_shift, midnight(day), next_day) == 480


def test_boundaries_inside_the_gap_and_the_fold_follow_the_wall_clock() -> None:
    # 02:30 does not exist on 2026-03-29 in Berlin: the office opens when the clock shows 03:00.
    gap = every_day("Europe/Berlin", ("02:30", "04:00"))
    sunday = local(BERLIN, 2026, 3, 29)
    assert add_business_minutes(gap, sunday, 1) == local(BERLIN, 2026, 3, 29, 3, 1)
    assert business_minutes_between(gap, sunday, local(BERLIN, 2026, 3, 30)) == 60
    # 02:00-03:00 happens twice on 2026-10-25: an interval ending 02:30 is open on both passes.
    fold = every_day("Europe/Berlin", ("01:00", "02:30"))
    autumn = local(BERLIN, 2026, 10, 25)
    assert business_minutes_between(fold, autumn, local(BERLIN, 2026, 10, 26)) == 120
    second_pass = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 02:00 CET, the clock's second 02:00
    assert add_business_minutes(fold, autumn, 91) == second_pass + MINUTE


def test_zero_minutes_is_due_at_the_start() -> None:
    inside = local(BERLIN, 2026, 3, 25, 10, 0)
    outside = local(BERLIN, 2026, 3, 28, 3, 0)
    for moment in (inside, outside):
        assert add_business_minutes(OFFICE, moment, 0) == moment
        assert deadline(OFFICE, moment, 0) == moment
        assert deadline(None, moment, 0) == moment
    assert add_business_minutes(OFFICE, outside, 0).tzinfo is UTC


def test_partial_minutes_and_a_start_off_the_minute() -> None:
    half_past = local(BERLIN, 2026, 3, 25, 16, 59, 30)
    assert add_business_minutes(OFFICE, half_past, 0.5) == local(BERLIN, 2026, 3, 25, 17, 0)
    start = half_past + timedelta(milliseconds=250)
    assert add_business_minutes(OFFICE, start, 1) == local(BERLIN, 2026, 3, 26, 9, 0, 30, 250_000)
    assert business_minutes_between(
        OFFICE, start, local(BERLIN, 2026, 3, 26, 9, 0)
    ) == pytest.approx(29.75 / 60)


def test_pauses_stop_the_clock() -> None:
    start = local(BERLIN, 2026, 3, 25, 9, 0)
    pauses = [
        (local(BERLIN, 2026, 3, 25, 10, 0), local(BERLIN, 2026, 3, 25, 11, 0)),
        (local(BERLIN, 2026, 3, 25, 10, 30), local(BERLIN, 2026, 3, 25, 12, 0)),  # overlaps
        (local(BERLIN, 2026, 3, 25, 20, 0), local(BERLIN, 2026, 3, 26, 8, 0)),  # while closed
    ]
    assert add_business_minutes(OFFICE, start, 120, pauses) == local(BERLIN, 2026, 3, 25, 13, 0)
    assert business_minutes_between(OFFICE, start, local(BERLIN, 2026, 3, 25, 13, 0), pauses) == 120
    # Paused from before the start until after the deadline would have been.
    whole = [(start - timedelta(hours=1), local(BERLIN, 2026, 3, 26, 12, 0))]
    assert add_business_minutes(OFFICE, start, 60, whole) == local(BERLIN, 2026, 3, 26, 13, 0)


def test_calendar_time() -> None:
    start = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)
    pauses = [(start + timedelta(minutes=10), start + timedelta(minutes=40))]
    assert add_minutes(start, 60) == start + timedelta(minutes=60)
    assert deadline(None, start, 60, pauses) == start + timedelta(minutes=90)
    assert minutes_between(start, start + timedelta(minutes=90), pauses) == 60
    assert elapsed(None, start, start - timedelta(minutes=5)) == 0.0


def test_years_and_caching() -> None:
    utc_office = BusinessCalendar("UTC", OFFICE.weekly)
    first, last = date(2024, 1, 1), date(2028, 1, 1)
    weekdays = sum((first + timedelta(days=n)).weekday() < 5 for n in range((last - first).days))
    span = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    assert business_minutes_between(utc_office, *span) == weekdays * 480
    # New year's eve, three business days: the walk crosses into the next year's segments.
    eve = local(BERLIN, 2026, 12, 31, 16, 0)
    assert add_business_minutes(OFFICE, eve, 3 * 480) == local(BERLIN, 2027, 1, 5, 16, 0)
    # Cached by value: an equal calendar built anew (as from the database) compiles once.
    assert compile_calendar(OFFICE) is compile_calendar(
        BusinessCalendar("Europe/Berlin", OFFICE.weekly)
    )
    # Lists instead of tuples do not hash; the calendar still works, uncached.
    listed = BusinessCalendar("Europe/Berlin", [list(day) for day in OFFICE.weekly], [])  # type: ignore[arg-type]
    assert add_business_minutes(listed, eve, 120) == local(BERLIN, 2027, 1, 1, 10, 0)


def test_yearly_holidays() -> None:
    cal = BusinessCalendar(
        "UTC",
        ((Interval("00:00", "24:00"),),) * 7,
        (
            Holiday(date(2024, 2, 29), date(2024, 2, 29), yearly=True, name="leap"),
            Holiday(date(2025, 12, 31), date(2026, 1, 1), yearly=True, name="new year"),
        ),
    )
    compiled = compile_calendar(cal)
    assert compiled.is_holiday(date(2027, 2, 28))
    assert not compiled.is_holiday(date(2028, 2, 28))
    assert compiled.is_holiday(date(2028, 2, 29))
    assert compiled.is_holiday(date(2030, 12, 31)) and compiled.is_holiday(date(2031, 1, 1))
    assert not compiled.is_holiday(date(2031, 1, 2))
    start = datetime(2030, 12, 30, 23, 0, tzinfo=UTC)
    assert add_business_minutes(cal, start, 120) == datetime(2031, 1, 2, 1, 0, tzinfo=UTC)


def test_a_calendar_closed_for_years_stops_walking() -> None:
    closed = BusinessCalendar(
        "Europe/Berlin", OFFICE.weekly, (Holiday(date(2026, 1, 1), date(2031, 12, 31)),)
    )
    with pytest.raises(CalendarError, match="no business hours within 3 years after"):
        add_business_minutes(closed, datetime(2026, 6, 1, tzinfo=UTC), 15)
    assert (
        business_minutes_between(
            closed, datetime(2026, 6, 1, tzinfo=UTC), datetime(2032, 1, 1, tzinfo=UTC)
        )
        == 0
    )


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        add_business_minutes(OFFICE, datetime(2026, 3, 25, 9, 0), 15)
    with pytest.raises(ValueError, match="minutes must be a finite number >= 0"):
        deadline(OFFICE, datetime(2026, 3, 25, 9, 0, tzinfo=UTC), -1)
    with pytest.raises(ValueError, match="minutes must be a finite number >= 0"):
        deadline(None, datetime(2026, 3, 25, 9, 0, tzinfo=UTC), float("nan"))


def _week(**days: tuple[tuple[str, str], ...]) -> tuple[tuple[Interval, ...], ...]:
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    return tuple(tuple(Interval(a, b) for a, b in days.get(name, ())) for name in names)


@pytest.mark.parametrize(
    ("cal", "message"),
    [
        (BusinessCalendar("Mars/Base", OFFICE.weekly), "unknown time zone 'Mars/Base'"),
        (BusinessCalendar("", OFFICE.weekly), "unknown time zone ''"),
        (BusinessCalendar("Europe", OFFICE.weekly), "unknown time zone 'Europe'"),
        (
            BusinessCalendar("UTC", _week(monday=(("18:00", "09:00"),))),
            "monday: interval 18:00-09:00 ends before it starts",
        ),
        (
            BusinessCalendar("UTC", _week(friday=(("09:00", "09:00"),))),
            "friday: interval 09:00-09:00 is empty",
        ),
        (
            BusinessCalendar("UTC", _week(tuesday=(("11:00", "13:00"), ("09:00", "12:00")))),
            "tuesday: intervals 09:00-12:00 and 11:00-13:00 overlap",
        ),
        (
            BusinessCalendar("UTC", _week(sunday=(("9:00", "17:00"),))),
            "sunday: malformed time '9:00', expected HH:MM",
        ),
        (
            BusinessCalendar("UTC", _week(monday=(("09:00", "24:30"),))),
            "monday: malformed time '24:30', expected HH:MM",
        ),
        (BusinessCalendar("UTC", _week()), "calendar has no business hours"),
        (
            BusinessCalendar("UTC", OFFICE.weekly[:5]),
            "weekly hours must list 7 days, Monday first, got 5",
        ),
        (
            BusinessCalendar(
                "UTC",
                OFFICE.weekly,
                (Holiday(date(2026, 12, 26), date(2026, 12, 24), name="Christmas"),),
            ),
            "holiday 'Christmas' ends 2026-12-24 before it starts 2026-12-26",
        ),
        (
            BusinessCalendar(
                "UTC",
                OFFICE.weekly,
                (Holiday(date(2026, 3, 1), date(2027, 3, 1), yearly=True, name="all"),),
            ),
            "yearly holiday 'all' must last less than a year",
        ),
    ],
)
def test_validation_messages(cal: BusinessCalendar, message: str) -> None:
    with pytest.raises(CalendarError) as caught:
        validate(cal)
    assert str(caught.value) == message
    with pytest.raises(CalendarError):
        add_business_minutes(cal, datetime(2026, 3, 25, tzinfo=UTC), 15)


def test_valid_edges() -> None:
    # Touching intervals and a day that runs to midnight are fine.
    validate(BusinessCalendar("UTC", _week(monday=(("00:00", "12:00"), ("12:00", "24:00")))))


ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//holidays//EN
BEGIN:VEVENT
UID:1
DTSTART;VALUE=DATE:20261224
DTEND;VALUE=DATE:20261227
SUMMARY:Christmas break
END:VEVENT
BEGIN:VEVENT
UID:2
DTSTART;VALUE=DATE:20260501
DTEND;VALUE=DATE:20260502
RRULE:FREQ=YEARLY
SUMMARY:Labour Day
END:VEVENT
BEGIN:VEVENT
UID:3
DTSTART;VALUE=DATE:20261003
SUMMARY:Unity Day
END:VEVENT
BEGIN:VEVENT
UID:4
DTSTART;VALUE=DATE:20260810
DURATION:P5D
SUMMARY:Summer shutdown
END:VEVENT
BEGIN:VEVENT
UID:5
DTSTART;TZID=Europe/Berlin:20261231T130000
DTEND;TZID=Europe/Berlin:20270101T000000
SUMMARY:New Year's Eve afternoon
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")


def test_ics_import() -> None:
    assert parse_ics(ICS) == [
        Holiday(date(2026, 12, 24), date(2026, 12, 26), yearly=False, name="Christmas break"),
        Holiday(date(2026, 5, 1), date(2026, 5, 1), yearly=True, name="Labour Day"),
        Holiday(date(2026, 10, 3), date(2026, 10, 3), yearly=False, name="Unity Day"),
        Holiday(date(2026, 8, 10), date(2026, 8, 14), yearly=False, name="Summer shutdown"),
        Holiday(
            date(2026, 12, 31), date(2026, 12, 31), yearly=False, name="New Year's Eve afternoon"
        ),
    ]
    cal = BusinessCalendar("Europe/Berlin", OFFICE.weekly, tuple(parse_ics(ICS.encode())))
    # 2027-05-01 is a Saturday; 2031-05-01 a Thursday, closed by the yearly rule.
    start = local(BERLIN, 2031, 4, 30, 16, 0)
    assert add_business_minutes(cal, start, 120) == local(BERLIN, 2031, 5, 2, 10, 0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("this is not a calendar", "holiday file does not parse: "),
        (b"", "holiday file does not parse: "),
        (
            ICS.replace("DTSTART;VALUE=DATE:20261003", "DTSTART;VALUE=DATE:2026x"),
            "holiday file does not parse: ",
        ),
        (
            ICS.replace("RRULE:FREQ=YEARLY", "RRULE:FREQ=YEARLY;BYDAY=1MO"),
            "holiday 'Labour Day': recurrence FREQ=YEARLY;BYDAY=1MO is not supported",
        ),
        (
            ICS.replace("RRULE:FREQ=YEARLY", "RRULE:FREQ=WEEKLY"),
            "holiday 'Labour Day': recurrence FREQ=WEEKLY is not supported",
        ),
        (
            ICS.replace("DTEND;VALUE=DATE:20261227", "DTEND;VALUE=DATE:20261220"),
            "holiday 'Christmas break' ends 2026-12-19 before it starts 2026-12-24",
        ),
    ],
)
def test_broken_ics(data: str | bytes, message: str) -> None:
    with pytest.raises(CalendarError) as caught:
        parse_ics(data)
    assert str(caught.value).startswith(message)
