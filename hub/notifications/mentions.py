"""@mentions in private notes: structured (agent or team ids), checked before the note is stored.

The note keeps them in its meta (`{"mentions": [{"type": "agent", "id": 3, "name": "Ann"}]}`), so
notifying does not depend on parsing the text. A mentioned agent who cannot see the inbox is
refused: they could not open the conversation the notification points to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import msgspec

from hub.auth.access import NotFound
from hub.db.engine import connection_pool
from hub.notifications.store import can_see


class Mention(msgspec.Struct, frozen=True):
    type: Literal["agent", "team"]
    id: int


class InvalidMention(ValueError):
    pass


MAX_MENTIONS = 50


async def check(conversation_id: int, mentions: Sequence[Mention]) -> list[dict[str, Any]]:
    """The mentions as stored on the note, each with its name; InvalidMention when one is
    unknown or names an agent without access to the conversation's inbox."""
    if not mentions:
        return []
    if len(mentions) > MAX_MENTIONS:
        raise InvalidMention(f"a note can mention at most {MAX_MENTIONS} agents and teams")
    pool = connection_pool()
    async with pool.acquire() as conn:
        inbox = await conn.fetchrow(
            "SELECT i.id, i.name FROM conversation c JOIN inbox i ON i.id = c.inbox WHERE c.id = $1",
            conversation_id,
        )
        if inbox is None:
            raise NotFound(f"no conversation {conversation_id}")
        agent_ids = sorted({m.id for m in mentions if m.type == "agent"})
        team_ids = sorted({m.id for m in mentions if m.type == "team"})
        agents = {
            r["id"]: r["name"]
            for r in await conn.fetch(
                "SELECT id, name FROM agent WHERE id = ANY($1::int[]) AND active", agent_ids
            )
        }
        teams = {
            r["id"]: r["name"]
            for r in await conn.fetch(
                "SELECT id, name FROM team WHERE id = ANY($1::int[])", team_ids
            )
        }
        missing = [f"agent {a}" for a in agent_ids if a not in agents]
        missing += [f"team {t}" for t in team_ids if t not in teams]
        if missing:
            raise InvalidMention(
                f"cannot mention {', '.join(missing)}: no such active agent or team"
            )
        allowed = await can_see(conn, inbox["id"], agent_ids)
    refused = [agents[a] for a in agent_ids if a not in allowed]
    if refused:
        raise InvalidMention(
            f"{', '.join(refused)} cannot see the inbox {inbox['name']!r}, so cannot open this"
            " conversation: add them to the inbox (or its team) first, or leave them out"
        )
    seen: set[tuple[str, int]] = set()
    result: list[dict[str, Any]] = []
    for m in mentions:
        if (m.type, m.id) in seen:
            continue
        seen.add((m.type, m.id))
        name = agents[m.id] if m.type == "agent" else teams[m.id]
        result.append({"type": m.type, "id": m.id, "name": name})
    return result
