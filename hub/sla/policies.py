"""Business-hours calendars and SLA policies: validated, stored, and where each applies.

Bad input (an overlapping or inverted interval, an unknown time zone, a holiday file that does not
parse, a negative target) raises `InvalidSla` with the exact problem before anything is stored.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from hub.auth.access import NotFound
from hub.db.engine import connection_pool
from hub.sla.engine import TARGETS, Snapshot
from hub.sla.hours import DAY_NAMES, BusinessCalendar, CalendarError, Holiday, Interval, validate
from hub.sla.ics import parse_ics

PRIORITIES = ("default", "none", "low", "medium", "high", "urgent")


class InvalidSla(ValueError):
    pass


class HoursInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    timezone: str
    # weekday name → [["09:00", "17:00"], ...]; a missing day is a day off
    weekly: dict[str, list[tuple[str, str]]]
    holidays: list[Holiday] = []
    holidays_ics: str | None = None  # an iCalendar file's text; its holidays are added


class PolicyInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    business_hours_id: int | None = None  # None: calendar time (24/7)
    # priority ("default" for any other) → {first_response, next_response, resolution} minutes
    targets: dict[str, dict[str, int | None]]
    warning_percent: int = 80
    pause_when_pending: bool = True
    pause_when_snoozed: bool = True
    active: bool = True


def calendar_of(timezone: str, weekly: dict[str, Any], holidays: list[Any]) -> BusinessCalendar:
    unknown = sorted(set(weekly) - set(DAY_NAMES))
    if unknown:
        raise InvalidSla(f"unknown weekday {unknown[0]!r}: use {', '.join(DAY_NAMES)}")
    week = tuple(
        tuple(Interval(str(start), str(end)) for start, end in weekly.get(day, ()))
        for day in DAY_NAMES
    )
    days = tuple(
        h if isinstance(h, Holiday) else msgspec.convert(h, Holiday, strict=False) for h in holidays
    )
    return BusinessCalendar(timezone=timezone, weekly=week, holidays=days)


def _checked_hours(data: HoursInput) -> tuple[BusinessCalendar, list[Holiday]]:
    if not data.name.strip():
        raise InvalidSla("name must not be empty")
    holidays = list(data.holidays)
    try:
        if data.holidays_ics:
            holidays += parse_ics(data.holidays_ics)
        calendar = calendar_of(data.timezone, dict(data.weekly), holidays)
        validate(calendar)
    except CalendarError as error:
        raise InvalidSla(str(error)) from None
    return calendar, holidays


def _row_json(row: asyncpg.Record, *fields: str) -> dict[str, Any]:
    out = dict(row)
    for name in fields:
        if isinstance(out.get(name), str):
            out[name] = msgspec.json.decode(out[name])
    return out


_HOURS = "SELECT id, name, timezone, weekly, holidays, created_at, updated_at FROM business_hours"


async def list_hours() -> list[dict[str, Any]]:
    rows = await connection_pool().fetch(_HOURS + " ORDER BY name")
    return [_row_json(r, "weekly", "holidays") for r in rows]


async def get_hours(hours_id: int) -> dict[str, Any]:
    row = await connection_pool().fetchrow(_HOURS + " WHERE id = $1", hours_id)
    if row is None:
        raise NotFound(f"no business hours {hours_id}")
    return _row_json(row, "weekly", "holidays")


async def save_hours(data: HoursInput, hours_id: int | None = None) -> dict[str, Any]:
    _, holidays = _checked_hours(data)
    weekly = msgspec.json.encode(
        {d: data.weekly[d] for d in DAY_NAMES if d in data.weekly}
    ).decode()
    holiday_json = msgspec.json.encode(holidays).decode()
    pool = connection_pool()
    try:
        if hours_id is None:
            new_id = await pool.fetchval(
                "INSERT INTO business_hours (name, timezone, weekly, holidays)"
                " VALUES ($1, $2, $3::jsonb, $4::jsonb) RETURNING id",
                data.name.strip(),
                data.timezone,
                weekly,
                holiday_json,
            )
            return await get_hours(new_id)
        updated = await pool.fetchval(
            "UPDATE business_hours SET name = $2, timezone = $3, weekly = $4::jsonb,"
            " holidays = $5::jsonb, updated_at = now() WHERE id = $1 RETURNING id",
            hours_id,
            data.name.strip(),
            data.timezone,
            weekly,
            holiday_json,
        )
    except asyncpg.UniqueViolationError:
        raise InvalidSla(f"business hours named {data.name.strip()!r} exist already") from None
    if updated is None:
        raise NotFound(f"no business hours {hours_id}")
    return await get_hours(hours_id)


async def delete_hours(hours_id: int) -> None:
    try:
        deleted = await connection_pool().fetchval(
            "DELETE FROM business_hours WHERE id = $1 RETURNING id", hours_id
        )
    except asyncpg.ForeignKeyViolationError:
        raise InvalidSla("these business hours are used by an SLA policy") from None
    if deleted is None:
        raise NotFound(f"no business hours {hours_id}")


def _check_policy(data: PolicyInput) -> None:
    if not data.name.strip():
        raise InvalidSla("name must not be empty")
    if not data.targets:
        raise InvalidSla("targets must name at least one priority (or 'default')")
    for priority, targets in data.targets.items():
        if priority not in PRIORITIES:
            raise InvalidSla(f"unknown priority {priority!r}: use {', '.join(PRIORITIES)}")
        for name, minutes in targets.items():
            if name not in TARGETS:
                raise InvalidSla(f"unknown target {name!r}: use {', '.join(TARGETS)}")
            if minutes is not None and not 0 <= minutes <= 525_600:
                raise InvalidSla(f"{priority}.{name} must be 0 to 525600 minutes")
    if not 1 <= data.warning_percent <= 99:
        raise InvalidSla("warning_percent must be 1 to 99")


_POLICY = (
    "SELECT id, name, business_hours AS business_hours_id, targets, warning_percent,"
    " pause_when_pending, pause_when_snoozed, active, created_at, updated_at FROM sla_policy"
)


async def list_policies() -> list[dict[str, Any]]:
    rows = await connection_pool().fetch(_POLICY + " ORDER BY name")
    return [_row_json(r, "targets") for r in rows]


async def get_policy(policy_id: int) -> dict[str, Any]:
    row = await connection_pool().fetchrow(_POLICY + " WHERE id = $1", policy_id)
    if row is None:
        raise NotFound(f"no SLA policy {policy_id}")
    return _row_json(row, "targets")


async def save_policy(data: PolicyInput, policy_id: int | None = None) -> dict[str, Any]:
    _check_policy(data)
    values = (
        data.name.strip(),
        data.business_hours_id,
        msgspec.json.encode(data.targets).decode(),
        data.warning_percent,
        data.pause_when_pending,
        data.pause_when_snoozed,
        data.active,
    )
    pool = connection_pool()
    try:
        if policy_id is None:
            new_id = await pool.fetchval(
                "INSERT INTO sla_policy (name, business_hours, targets, warning_percent,"
                " pause_when_pending, pause_when_snoozed, active)"
                " VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7) RETURNING id",
                *values,
            )
            return await get_policy(new_id)
        updated = await pool.fetchval(
            "UPDATE sla_policy SET name = $2, business_hours = $3, targets = $4::jsonb,"
            " warning_percent = $5, pause_when_pending = $6, pause_when_snoozed = $7,"
            " active = $8, updated_at = now() WHERE id = $1 RETURNING id",
            policy_id,
            *values,
        )
    except asyncpg.UniqueViolationError:
        raise InvalidSla(f"an SLA policy named {data.name.strip()!r} exists already") from None
    except asyncpg.ForeignKeyViolationError:
        raise InvalidSla(f"no business hours {data.business_hours_id}") from None
    if updated is None:
        raise NotFound(f"no SLA policy {policy_id}")
    return await get_policy(policy_id)


async def delete_policy(policy_id: int) -> None:
    deleted = await connection_pool().fetchval(
        "DELETE FROM sla_policy WHERE id = $1 RETURNING id", policy_id
    )
    if deleted is None:
        raise NotFound(f"no SLA policy {policy_id}")


async def assign(
    *, inbox_id: int | None = None, team_id: int | None = None, policy_id: int | None
) -> None:
    """Which policy new conversations of an inbox or a team get (a team's wins over its inbox's)."""
    table, key = ("inbox", inbox_id) if inbox_id is not None else ("team", team_id)
    try:
        done = await connection_pool().fetchval(
            f"UPDATE {table} SET sla_policy = $2 WHERE id = $1 RETURNING id", key, policy_id
        )
    except asyncpg.ForeignKeyViolationError:
        raise InvalidSla(f"no SLA policy {policy_id}") from None
    if done is None:
        raise NotFound(f"no {table} {key}")


async def snapshot(conn: asyncpg.Connection, policy_id: int) -> Snapshot | None:
    """The policy with its calendar, as it is now: what a conversation keeps."""
    row = await conn.fetchrow(
        "SELECT p.id, p.name, p.targets, p.warning_percent, p.pause_when_pending,"
        " p.pause_when_snoozed, p.active, h.timezone, h.weekly, h.holidays"
        " FROM sla_policy p LEFT JOIN business_hours h ON h.id = p.business_hours WHERE p.id = $1",
        policy_id,
    )
    if row is None or not row["active"]:
        return None
    calendar = None
    if row["timezone"] is not None:
        calendar = calendar_of(
            row["timezone"],
            msgspec.json.decode(row["weekly"]),
            msgspec.json.decode(row["holidays"]),
        )
    return Snapshot(
        id=row["id"],
        name=row["name"],
        targets=msgspec.json.decode(row["targets"]),
        warning_percent=row["warning_percent"],
        pause_when_pending=row["pause_when_pending"],
        pause_when_snoozed=row["pause_when_snoozed"],
        calendar=calendar,
    )
