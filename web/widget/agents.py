"""The agents' side of typing: POST /api/v1/conversations/{id}/typing shows "… is typing"."""

from __future__ import annotations

import msgspec
from litestar import post

from hub.auth import access
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from web.widget.fanin import TypingNotice, publish_typing


class AgentTyping(msgspec.Struct):
    typing: bool


@post(
    "/api/v1/conversations/{conversation_id:int}/typing",
    tags=["conversations"],
    status_code=204,
    permission=Permission.REPLY,
)
async def agent_typing(principal: Principal, conversation_id: int, data: AgentTyping) -> None:
    """Tell the visitor (web chat) and colleagues that you are typing; never stored."""
    inbox_id = await access.check_conversation(principal.agent, conversation_id)
    await publish_typing(
        TypingNotice(
            conversation_id,
            inbox_id,
            "agent",
            principal.agent.name,
            data.typing,
            principal.agent.id,
        )
    )
