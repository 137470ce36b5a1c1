"""Per-inbox CSAT settings: on or off, how long after the resolution, how long answers count,
the question, and the approved template for channels with a reply window (WhatsApp)."""

from __future__ import annotations

from typing import Annotated

import asyncpg
import msgspec

from hub.auth.access import NotFound
from hub.db.engine import connection_pool

DEFAULT_QUESTION = "How would you rate the help you got from us? (1 = poor, 5 = excellent)"
MAX_DELAY_MINUTES = 72 * 60
MAX_WINDOW_HOURS = 90 * 24


class CsatSettings(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool = False
    # How long after the resolution the survey goes; a reopen before then cancels it.
    delay_minutes: Annotated[int, msgspec.Meta(ge=0, le=MAX_DELAY_MINUTES)] = 0
    # How long after it went the survey accepts answers (and replacements of an answer).
    window_hours: Annotated[int, msgspec.Meta(ge=1, le=MAX_WINDOW_HOURS)] = 7 * 24
    question: Annotated[str, msgspec.Meta(max_length=500)] = ""
    # The approved template sent instead when the channel's reply window is closed (WhatsApp).
    template: Annotated[str, msgspec.Meta(max_length=200)] = ""

    @property
    def effective_question(self) -> str:
        return self.question.strip() or DEFAULT_QUESTION


def _from_row(row: asyncpg.Record | None) -> CsatSettings:
    if row is None:
        return CsatSettings()
    return CsatSettings(
        enabled=row["enabled"],
        delay_minutes=row["delay_minutes"],
        window_hours=row["window_hours"],
        question=row["question"],
        template=row["template"],
    )


async def load(conn: asyncpg.Connection, inbox_id: int) -> CsatSettings:
    return _from_row(await conn.fetchrow("SELECT * FROM csat_setting WHERE inbox = $1", inbox_id))


async def get(inbox_id: int) -> CsatSettings:
    async with connection_pool().acquire() as conn:
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM inbox WHERE id = $1)", inbox_id):
            raise NotFound(f"no inbox {inbox_id}")
        return await load(conn, inbox_id)


async def put(inbox_id: int, value: CsatSettings) -> CsatSettings:
    """Store an inbox's settings whole (the API validated the ranges)."""
    async with connection_pool().acquire() as conn:
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM inbox WHERE id = $1)", inbox_id):
            raise NotFound(f"no inbox {inbox_id}")
        row = await conn.fetchrow(
            "INSERT INTO csat_setting (inbox, enabled, delay_minutes, window_hours, question,"
            " template) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (inbox) DO UPDATE SET"
            " enabled = $2, delay_minutes = $3, window_hours = $4, question = $5, template = $6,"
            " updated_at = now() RETURNING *",
            inbox_id,
            value.enabled,
            value.delay_minutes,
            value.window_hours,
            value.question.strip(),
            value.template.strip(),
        )
    return _from_row(row)


async def enabled_inboxes() -> set[int]:
    """The inboxes that send a survey (the admin list shows it per inbox)."""
    rows = await connection_pool().fetch("SELECT inbox FROM csat_setting WHERE enabled")
    return {r["inbox"] for r in rows}
