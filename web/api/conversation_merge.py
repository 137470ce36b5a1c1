"""Merging, unmerging and splitting conversations; a merged conversation's URLs redirect."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.response import Redirect

from hub.auth import access, audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.conversations import merge, split, summary


class MergeBody(msgspec.Struct, forbid_unknown_fields=True):
    source_ids: list[int]


class UnmergeBody(msgspec.Struct, forbid_unknown_fields=True):
    merge_id: int | None = None


class SplitBody(msgspec.Struct, forbid_unknown_fields=True):
    message_id: int | None = None
    message_ids: list[int] = []


class MergeList(msgspec.Struct):
    items: list[dict[str, Any]]


class MergedElsewhere(Exception):
    """Raised by a handler whose conversation was merged: answered with a 308 to the target, so
    the handler keeps its documented 200 schema (web.errors answers it)."""

    def __init__(self, response: Redirect) -> None:
        super().__init__("merged into another conversation")
        self.response = response


def redirect_if_merged(request: Request[Any, Any, Any], conversation_id: int, target: int) -> None:
    """Raise a 308 to the same path of the conversation that took this one's messages."""
    if target == conversation_id:
        return
    path = request.url.path.replace(
        f"/conversations/{conversation_id}", f"/conversations/{target}", 1
    )
    query = f"?{request.url.query}" if request.url.query else ""
    raise MergedElsewhere(
        Redirect(path + query, status_code=308, headers={"X-Hub-Merged-Into": str(target)})
    )


@post(
    "/api/v1/conversations/{conversation_id:int}/merge",
    tags=["conversations"],
    status_code=200,
    permission=Permission.MERGE_CONVERSATIONS,
)
async def merge_conversations(
    principal: Principal, conversation_id: int, data: MergeBody
) -> dict[str, Any]:
    """Merge `source_ids` into this conversation: their messages, notes, attachments and
    activity lines move here with their original times; the sources are closed and redirect
    here. Conversations of other contacts need `contacts.merge_across`. Undo within 30 days."""
    await access.check_conversation(principal.agent, conversation_id)
    for source_id in data.source_ids:
        await access.check_conversation(principal.agent, source_id)
    merged = await merge.merge(conversation_id, data.source_ids, actor=principal.agent)
    await audit.record(
        "conversation.merged", actor_id=principal.agent.id, target_type="conversation",
        target_id=conversation_id, data={"source_ids": list(data.source_ids)},
    )  # fmt: skip
    return merged


@post(
    "/api/v1/conversations/{conversation_id:int}/unmerge",
    tags=["conversations"],
    status_code=200,
    permission=Permission.MERGE_CONVERSATIONS,
)
async def unmerge_conversations(
    principal: Principal, conversation_id: int, data: UnmergeBody
) -> dict[str, Any]:
    """Undo the latest merge into this conversation (or `merge_id`) of the last 30 days: the
    moved rows go back and the sources are restored as they were."""
    await access.check_conversation(principal.agent, conversation_id)
    undone = await merge.unmerge(conversation_id, merge_id=data.merge_id, actor=principal.agent)
    await audit.record(
        "conversation.unmerged", actor_id=principal.agent.id, target_type="conversation",
        target_id=conversation_id, data={"merge_id": data.merge_id},
    )  # fmt: skip
    return undone


@get(
    "/api/v1/conversations/{conversation_id:int}/merges",
    tags=["conversations"],
    permission=Permission.READ_CONVERSATIONS,
)
async def list_merges(principal: Principal, conversation_id: int) -> MergeList:
    """Merges into this conversation, newest first (with `undo_until`)."""
    await access.check_conversation(principal.agent, conversation_id)
    return MergeList(items=await merge.merges_of(conversation_id))


@post(
    "/api/v1/conversations/{conversation_id:int}/split",
    tags=["conversations"],
    status_code=201,
    permission=Permission.MERGE_CONVERSATIONS,
)
async def split_conversation(
    principal: Principal, conversation_id: int, data: SplitBody
) -> dict[str, Any]:
    """Move `message_id` and the later rows (or exactly `message_ids`) into a new conversation
    of the same contact and inbox; returns the new conversation."""
    await access.check_conversation(principal.agent, conversation_id)
    created = await split.split(
        conversation_id,
        message_id=data.message_id,
        message_ids=data.message_ids,
        actor=principal.agent,
    )
    await audit.record(
        "conversation.split", actor_id=principal.agent.id, target_type="conversation",
        target_id=conversation_id, data={"new_conversation": created.get("id")},
    )  # fmt: skip
    return created


async def merged_target(principal: Principal, conversation_id: int) -> int:
    """Where a conversation's messages are now; checks the agent may see both."""
    await access.check_conversation(principal.agent, conversation_id)
    target = await summary.resolve(conversation_id)
    if target != conversation_id:
        await access.check_conversation(principal.agent, target)
    return target


handlers = [merge_conversations, unmerge_conversations, list_merges, split_conversation]
