"""Conversation requirements: the skills an agent needs to be assigned a conversation by a team's
policy (hub.routing.assign), and where they come from.

- Explicitly: the API (`PUT /conversations/{id}/requirements`) or an automation rule's
  `set_requirements` action.
- The inbox: `inbox.requirements` are copied into every new conversation by a trigger
  (migration 2026-12-06T05:00), so the first assignment round already sees them.
- Tags: the routing settings map a tag to skills (`tag_requirement`). Adding the tag adds the
  skills the conversation lacks, and `conversation.tag_requirements` remembers which ones the tags
  brought; removing the tag removes only those (and only when no other tag still implies them),
  never one set explicitly or copied from the inbox.

Rules on `conversation.created` run in their own subscriber beside routing's, so a policy may have
placed a conversation before a rule (or a tag) said what it needs. When new requirements rule out
the agent the policy chose, the conversation goes back to the team's queue (its event starts a
new round); an agent's or a rule's own choice of assignee is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import asyncpg

from hub.auth.access import NotFound
from hub.db.engine import connection_pool
from hub.realtime import events
from hub.routing.assign import Move, assign

MAX_SKILLS = 50
MAX_LENGTH = 60
MAX_TAGS = 500
Mode = Literal["replace", "add"]


class InvalidSkills(ValueError):
    pass


def clean(values: Sequence[str]) -> list[str]:
    """Skills as they are compared: trimmed, lower case, single spaces, sorted, no repeats."""
    cleaned = sorted({" ".join(v.strip().lower().split()) for v in values if v.strip()})
    if any(len(v) > MAX_LENGTH for v in cleaned) or len(cleaned) > MAX_SKILLS:
        raise InvalidSkills(
            f"skills are at most {MAX_SKILLS} names of at most {MAX_LENGTH} characters"
        )
    return cleaned


def _tag(name: str) -> str:
    # The same cleaning as hub.conversations.lifecycle's tags, so the mapping meets the tag.
    cleaned = " ".join(name.strip().lower().split())
    if not cleaned or len(cleaned) > 100:
        raise InvalidSkills("a tag is 1 to 100 characters")
    return cleaned


# --- settings ---------------------------------------------------------------------------------


async def tag_map() -> dict[str, list[str]]:
    rows = await connection_pool().fetch("SELECT tag, skills FROM tag_requirement ORDER BY tag")
    return {r["tag"]: list(r["skills"]) for r in rows}


async def set_tag_map(mapping: dict[str, list[str]]) -> dict[str, list[str]]:
    """Replace the whole mapping. Conversations keep what their tags brought until a tag is
    removed: a changed mapping applies to tags added from now on."""
    if len(mapping) > MAX_TAGS:
        raise InvalidSkills(f"at most {MAX_TAGS} tags")
    cleaned: dict[str, list[str]] = {}
    for tag, skills in mapping.items():
        name = _tag(tag)
        merged = clean([*cleaned.get(name, []), *skills])
        if merged:
            cleaned[name] = merged
    async with connection_pool().acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM tag_requirement")
        await conn.executemany(
            "INSERT INTO tag_requirement (tag, skills) VALUES ($1, $2)", list(cleaned.items())
        )
    return dict(sorted(cleaned.items()))


async def inbox_requirements(inbox_id: int) -> list[str]:
    found = await connection_pool().fetchval(
        "SELECT requirements FROM inbox WHERE id = $1", inbox_id
    )
    if found is None:
        raise NotFound(f"no inbox {inbox_id}")
    return list(found)


async def set_inbox_requirements(inbox_id: int, skills: Sequence[str]) -> list[str]:
    """Skills every conversation the inbox receives from now on needs."""
    cleaned = clean(skills)
    done = await connection_pool().fetchval(
        "UPDATE inbox SET requirements = $2 WHERE id = $1 RETURNING id", inbox_id, cleaned
    )
    if done is None:
        raise NotFound(f"no inbox {inbox_id}")
    return cleaned


# --- a conversation's requirements, inside the caller's transaction ------------------------------


async def _implied(conn: asyncpg.Connection, tags: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT skills FROM tag_requirement WHERE tag = ANY($1::text[])", list(tags)
    )
    return {skill for r in rows for skill in r["skills"]}


async def _write(
    conn: asyncpg.Connection, conversation_id: int, wanted: set[str], from_tags: set[str]
) -> None:
    await conn.execute(
        "UPDATE conversation SET requirements = $2, tag_requirements = $3 WHERE id = $1",
        conversation_id,
        sorted(wanted),
        sorted(from_tags & wanted),
    )


async def requeue_if_unfit(
    conn: asyncpg.Connection,
    conversation_id: int,
    *,
    by_agent: int | None = None,
    origin: dict[str, Any] | None = None,
) -> list[events.Event]:
    """Back to the team's queue when the policy placed the conversation with an agent who lacks a
    skill it now requires; the history says a rule (origin), an agent or the hub did it."""
    by_type = "automation" if origin else ("agent" if by_agent else "system")
    row = await conn.fetchrow(
        "SELECT c.inbox, c.team, c.assignee, c.requirements, a.skills, a.name,"
        " (SELECT h.by_type FROM conversation_assignment h WHERE h.conversation = c.id"
        "  ORDER BY h.id DESC LIMIT 1) AS placed_by"
        " FROM conversation c JOIN agent a ON a.id = c.assignee"
        " WHERE c.id = $1 AND c.status IN ('open', 'pending')",
        conversation_id,
    )
    if row is None or row["placed_by"] != "policy":
        return []
    missing = sorted(set(row["requirements"]) - set(row["skills"]))
    if not missing:
        return []
    line = f"returned the conversation to the queue: {row['name']} lacks {', '.join(missing)}"
    move = Move(conversation_id, row["inbox"], row["team"], None, row["assignee"], line)
    return await assign(conn, [move], by_type=by_type, by_agent=by_agent, origin=origin)


async def change(
    conn: asyncpg.Connection,
    conversation_id: int,
    skills: Sequence[str],
    *,
    mode: Mode = "replace",
) -> list[str]:
    """Set (replace) or add explicit requirements; the conversation row must be locked by the
    caller. Explicit ones are never removed with a tag."""
    cleaned = set(clean(skills))
    row = await conn.fetchrow(
        "SELECT requirements, tag_requirements FROM conversation WHERE id = $1", conversation_id
    )
    if row is None:
        raise NotFound(f"no conversation {conversation_id}")
    if mode == "replace":
        wanted, from_tags = cleaned, set()
    else:
        wanted = set(row["requirements"]) | cleaned
        from_tags = set(row["tag_requirements"]) - cleaned
    if len(wanted) > MAX_SKILLS:
        raise InvalidSkills(f"a conversation requires at most {MAX_SKILLS} skills")
    await _write(conn, conversation_id, wanted, from_tags)
    return sorted(wanted)


async def tags_added(
    conn: asyncpg.Connection, conversation_id: int, tags: Sequence[str]
) -> list[str] | None:
    """After tags were added (the conversation row locked): the skills they imply; the new
    requirements, or None when they did not change."""
    implied = await _implied(conn, tags)
    if not implied:
        return None
    row = await conn.fetchrow(
        "SELECT requirements, tag_requirements FROM conversation WHERE id = $1", conversation_id
    )
    have = set(row["requirements"])
    new = implied - have
    if not new:
        return None
    await _write(conn, conversation_id, have | new, set(row["tag_requirements"]) | new)
    return sorted(have | new)


async def tag_removed(conn: asyncpg.Connection, conversation_id: int, tag: str) -> list[str] | None:
    """After a tag was removed: drop the skills only it brought; the new requirements, or None
    when they did not change."""
    implied = await _implied(conn, [tag])
    if not implied:
        return None
    row = await conn.fetchrow(
        "SELECT c.requirements, c.tag_requirements, array(SELECT t.name FROM conversation_tag ct"
        " JOIN tag t ON t.id = ct.tag WHERE ct.conversation = c.id) AS tags"
        " FROM conversation c WHERE c.id = $1",
        conversation_id,
    )
    still = await _implied(conn, list(row["tags"]))
    drop = (implied & set(row["tag_requirements"])) - still
    if not drop:
        return None
    left = set(row["requirements"]) - drop
    await _write(conn, conversation_id, left, set(row["tag_requirements"]) - drop)
    return sorted(left)
