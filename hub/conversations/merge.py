"""Merging conversations into one, and undoing it within 30 days.

A merge moves every row of the sources' timelines (messages, private notes, activity lines; their
attachments hang off the messages) into the target, keeping each row's id and times, so the
target's timeline interleaves them in the order they happened. The sources are closed with
`merged_into` pointing at the target: ingest, the API and the inbox follow that pointer. The
event log is not rewritten (it is history, and clients resume from it by id).

`conversation_merge` keeps exactly what moved and the sources' state before, so an undo moves
those rows back and restores the sources as they were.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from hub.auth.access import Forbidden, NotFound
from hub.auth.accounts import AgentInfo
from hub.auth.permissions import Permission, allowed
from hub.conversations import summary
from hub.conversations.lifecycle import InvalidChange, record_activity
from hub.db.engine import connection_pool
from hub.realtime import events

UNDO_DAYS = 30
MAX_SOURCES = 50


class InvalidMerge(InvalidChange):
    pass


def _refs(rows: dict[int, asyncpg.Record], ids: Sequence[int]) -> str:
    return ", ".join(f"#{rows[i]['ref']}" for i in ids)


def _check(
    rows: dict[int, asyncpg.Record], target_id: int, source_ids: list[int], actor: AgentInfo | None
) -> None:
    target = rows[target_id]
    if target["merged_into"] is not None:
        raise InvalidMerge(
            f"#{target['ref']} was merged into conversation {target['merged_into']}; merge into that one"
        )
    for source_id in source_ids:
        source = rows[source_id]
        if source["merged_into"] is not None:
            raise InvalidMerge(f"#{source['ref']} is already merged into another conversation")
        if source["inbox"] != target["inbox"]:
            # Each message keeps the inbox it came through (its provider id is unique per inbox)
            # and inbound threading only looks within one inbox, so a merge stays within one.
            raise InvalidMerge(f"#{source['ref']} is in another inbox than #{target['ref']}")
    contacts = {rows[i]["contact"] for i in [target_id, *source_ids]}
    if (
        len(contacts) > 1
        and actor is not None
        and not allowed(actor.role, Permission.MERGE_ACROSS_CONTACTS)
    ):
        raise Forbidden(
            f"these conversations belong to different contacts; merging them needs the permission"
            f" {Permission.MERGE_ACROSS_CONTACTS}"
        )


async def merge(
    target_id: int,
    source_ids: Sequence[int],
    *,
    actor: AgentInfo | None,
    reason: str = "",
) -> dict[str, Any]:
    """Move the sources' timelines into the target; returns the merge record.

    `actor` None is the hub itself (thread repair), which may merge across contacts.
    """
    sources = list(dict.fromkeys(int(s) for s in source_ids))
    if not sources:
        raise InvalidMerge("source_ids: name at least one conversation to merge")
    if len(sources) > MAX_SOURCES:
        raise InvalidMerge(f"source_ids: at most {MAX_SOURCES} conversations at once")
    if target_id in sources:
        raise InvalidMerge("source_ids: a conversation cannot be merged into itself")
    async with connection_pool().acquire() as conn, conn.transaction():
        rows = await summary.lock(conn, [target_id, *sources])
        _check(rows, target_id, sources, actor)
        target = rows[target_id]
        moved_rows = await conn.fetch(
            # The self-join reads each row's conversation from before the update.
            "UPDATE message m SET conversation = $1 FROM message o WHERE o.id = m.id"
            " AND o.conversation = ANY($2::int[]) RETURNING m.id, o.conversation",
            target_id,
            sources,
        )
        moved: dict[str, list[int]] = {str(s): [] for s in sources}
        for r in moved_rows:
            moved[str(r["conversation"])].append(int(r["id"]))
        tags_added = [
            int(r["tag"])
            for r in await conn.fetch(
                "INSERT INTO conversation_tag (conversation, tag) SELECT $1, tag FROM conversation_tag"
                " WHERE conversation = ANY($2::int[]) ON CONFLICT DO NOTHING RETURNING tag",
                target_id,
                sources,
            )
        ]
        before = {str(s): summary.state_of(rows[s]) for s in sources}
        before["target"] = summary.state_of(target)
        await conn.execute(
            "UPDATE conversation SET status = 'closed', merged_into = $1, resolved_at = now(),"
            " snoozed_until = NULL, unread_count = 0, waiting_since = NULL, updated_at = now()"
            " WHERE id = ANY($2::int[])",
            target_id,
            sources,
        )
        unread = sum(int(rows[s]["unread_count"]) for s in sources)
        # A customer still waiting in a source must not vanish into a resolved target.
        reopen = target["status"] in ("resolved", "closed") and any(
            rows[s]["status"] in ("open", "pending", "snoozed") for s in sources
        )
        await conn.execute(
            "UPDATE conversation SET unread_count = unread_count + $2,"
            " status = CASE WHEN $3 THEN 'open' ELSE status END,"
            " resolved_at = CASE WHEN $3 THEN NULL ELSE resolved_at END WHERE id = $1",
            target_id,
            unread,
            reopen,
        )
        await summary.recompute(conn, [target_id])
        record = await conn.fetchrow(
            "INSERT INTO conversation_merge (target, sources, moved, before, tags_added, reason, auto,"
            " agent) VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, $8) RETURNING *",
            target_id,
            sources,
            msgspec.json.encode(moved).decode(),
            msgspec.json.encode(before).decode(),
            tags_added,
            reason,
            actor is None,
            actor.id if actor else None,
        )
        assert record is not None
        because = f" ({reason})" if reason else ""
        emitted = await record_activity(
            conn,
            target_id,
            target["inbox"],
            [f"merged {_refs(rows, sources)} into this conversation{because}"],
            actor=actor,
            changed={"merged_from": sources, "merge_id": record["id"]},
        )
        for source_id in sources:
            emitted += await record_activity(
                conn,
                source_id,
                rows[source_id]["inbox"],
                [f"merged this conversation into #{target['ref']}{because}"],
                actor=actor,
                changed={"merged_into": target_id, "status": "closed", "merge_id": record["id"]},
                previous={"status": rows[source_id]["status"]},
            )
    await events.publish(emitted)
    return view(record)


def view(row: asyncpg.Record) -> dict[str, Any]:
    moved = msgspec.json.decode(row["moved"]) if isinstance(row["moved"], str) else row["moved"]
    undo_until = row["created_at"] + dt.timedelta(days=UNDO_DAYS)
    return {
        "id": row["id"],
        "target_id": row["target"],
        "source_ids": list(row["sources"]),
        "moved_messages": {k: len(v) for k, v in moved.items()},
        "reason": row["reason"],
        "auto": row["auto"],
        "agent_id": row["agent"],
        "created_at": row["created_at"],
        "undo_until": undo_until,
        "undone_at": row["undone_at"],
    }


async def merges_of(conversation_id: int) -> list[dict[str, Any]]:
    """Merges into this conversation, newest first."""
    rows = await connection_pool().fetch(
        "SELECT * FROM conversation_merge WHERE target = $1 ORDER BY id DESC LIMIT 100",
        conversation_id,
    )
    return [view(r) for r in rows]


async def unmerge(
    target_id: int, *, merge_id: int | None, actor: AgentInfo | None
) -> dict[str, Any]:
    """Undo the latest merge into `target_id` (or merge `merge_id`) of the last 30 days.

    The moved rows still in the target go back to their source, the target loses the tags it
    gained, and each source gets back its status, counters and times from before the merge.
    """
    async with connection_pool().acquire() as conn, conn.transaction():
        record = await conn.fetchrow(
            "SELECT * FROM conversation_merge WHERE target = $1 AND ($2::bigint IS NULL OR id = $2)"
            " AND undone_at IS NULL AND created_at > now() - make_interval(days => $3)"
            " ORDER BY id DESC LIMIT 1 FOR UPDATE",
            target_id,
            merge_id,
            UNDO_DAYS,
        )
        if record is None:
            raise NotFound(
                f"no merge into conversation {target_id} to undo in the last {UNDO_DAYS} days"
            )
        sources = [int(s) for s in record["sources"]]
        rows = await summary.lock(conn, [target_id, *sources])
        for source_id in sources:
            if rows[source_id]["merged_into"] != target_id:
                raise InvalidMerge(
                    f"#{rows[source_id]['ref']} is no longer merged into #{rows[target_id]['ref']}"
                )
        moved = msgspec.json.decode(record["moved"])
        before = msgspec.json.decode(record["before"])
        for source_id in sources:
            await conn.execute(
                "UPDATE message SET conversation = $1 WHERE id = ANY($2::bigint[]) AND conversation = $3",
                source_id,
                moved.get(str(source_id), []),
                target_id,
            )
            await summary.restore_state(conn, source_id, before[str(source_id)])
        if record["tags_added"]:
            await conn.execute(
                "DELETE FROM conversation_tag WHERE conversation = $1 AND tag = ANY($2::int[])",
                target_id,
                list(record["tags_added"]),
            )
        unread = sum(int(before[str(s)]["unread_count"] or 0) for s in sources)
        was = before["target"]
        reopened = was["status"] in ("resolved", "closed") and rows[target_id]["status"] == "open"
        await conn.execute(
            "UPDATE conversation SET unread_count = greatest(unread_count - $2, 0),"
            " status = CASE WHEN $3 THEN $4 ELSE status END,"
            " resolved_at = CASE WHEN $3 THEN $5::text::timestamptz ELSE resolved_at END WHERE id = $1",
            target_id,
            unread,
            reopened,
            was["status"],
            was["resolved_at"],
        )
        await summary.recompute(conn, [target_id])
        done = await conn.fetchrow(
            "UPDATE conversation_merge SET undone_at = now(), undone_by = $2 WHERE id = $1 RETURNING *",
            record["id"],
            actor.id if actor else None,
        )
        assert done is not None
        emitted = await record_activity(
            conn,
            target_id,
            rows[target_id]["inbox"],
            [f"undid the merge of {_refs(rows, sources)}"],
            actor=actor,
            changed={"unmerged": sources, "merge_id": record["id"]},
        )
        for source_id in sources:
            emitted += await record_activity(
                conn,
                source_id,
                rows[source_id]["inbox"],
                [f"undid the merge into #{rows[target_id]['ref']}"],
                actor=actor,
                changed={"merged_into": None, "status": before[str(source_id)]["status"]},
                previous={"status": "closed"},
            )
    await events.publish(emitted)
    return view(done)


async def adopt_late(source_id: int, message_ids: list[int]) -> int:
    """Messages committed into `source_id` while it was being merged (their ingest had picked
    it before the merge committed) follow the other rows into the target; returns the target.

    The source goes back to the closed state of a merged conversation, and the latest merge
    record learns about the rows, so an undo returns them to the source too.
    """
    target_id = await summary.resolve(source_id)
    if target_id == source_id:
        return source_id
    async with connection_pool().acquire() as conn, conn.transaction():
        rows = await summary.lock(conn, [source_id, target_id])
        if rows[source_id]["merged_into"] is None:
            return source_id  # unmerged meanwhile: the messages belong where they are
        target_id = int(rows[source_id]["merged_into"])
        moved = [
            int(r["id"])
            for r in await conn.fetch(
                "UPDATE message SET conversation = $1 WHERE id = ANY($2::bigint[])"
                " AND conversation = $3 RETURNING id",
                target_id,
                message_ids,
                source_id,
            )
        ]
        if not moved:
            return target_id
        await conn.execute(
            "UPDATE conversation SET status = 'closed', unread_count = 0, waiting_since = NULL,"
            " snoozed_until = NULL, resolved_at = coalesce(resolved_at, now()) WHERE id = $1",
            source_id,
        )
        inbound = await conn.fetchval(
            "SELECT count(*) FROM message WHERE id = ANY($1::bigint[]) AND direction = 'in'", moved
        )
        await conn.execute(
            "UPDATE conversation SET unread_count = unread_count + $2,"
            " status = CASE WHEN $2 > 0 THEN 'open' ELSE status END,"
            " resolved_at = CASE WHEN $2 > 0 THEN NULL ELSE resolved_at END WHERE id = $1",
            target_id,
            int(inbound),
        )
        await summary.recompute(conn, [target_id])
        await conn.execute(
            "UPDATE conversation_merge SET moved = jsonb_set(moved, ARRAY[$2::text],"
            " coalesce(moved->($2::text), '[]'::jsonb) || to_jsonb($3::bigint[]))"
            " WHERE id = (SELECT id FROM conversation_merge WHERE target = $1 AND $4 = ANY(sources)"
            " AND undone_at IS NULL ORDER BY id DESC LIMIT 1)",
            target_id,
            str(source_id),
            moved,
            source_id,
        )
        emitted = await summary.updated_events(
            conn, [source_id, target_id], {"adopted": moved, "merged_into": None}
        )
    await events.publish(emitted)
    return target_id
