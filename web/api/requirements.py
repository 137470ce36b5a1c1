"""Where conversation requirements come from besides the conversation itself: an inbox's
defaults and the tag → skills mapping of the routing settings (hub.routing.requirements)."""

from __future__ import annotations

import msgspec
from litestar import get, put

from hub.auth import audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.routing import requirements


class InboxRequirementsBody(msgspec.Struct):
    requirements: list[str]


class TagRequirementsBody(msgspec.Struct):
    tags: dict[str, list[str]]  # tag → skills it requires


@get(
    "/api/v1/inboxes/{inbox_id:int}/requirements",
    tags=["routing"],
    permission=Permission.MANAGE_INBOXES,
)
async def get_inbox_requirements(principal: Principal, inbox_id: int) -> list[str]:
    return await requirements.inbox_requirements(inbox_id)


@put(
    "/api/v1/inboxes/{inbox_id:int}/requirements",
    tags=["routing"],
    permission=Permission.MANAGE_INBOXES,
)
async def set_inbox_requirements(
    principal: Principal, inbox_id: int, data: InboxRequirementsBody
) -> list[str]:
    """Skills every new conversation of the inbox requires; conversations it already has keep
    theirs."""
    cleaned = await requirements.set_inbox_requirements(inbox_id, data.requirements)
    await audit.record(
        "routing.inbox_requirements", actor_id=principal.agent.id, target_type="inbox",
        target_id=inbox_id, data={"requirements": cleaned},
    )  # fmt: skip
    return cleaned


@get("/api/v1/routing/tag-requirements", tags=["routing"], access="authenticated")
async def get_tag_requirements(principal: Principal) -> TagRequirementsBody:
    return TagRequirementsBody(tags=await requirements.tag_map())


@put("/api/v1/routing/tag-requirements", tags=["routing"], permission=Permission.MANAGE_TEAMS)
async def set_tag_requirements(
    principal: Principal, data: TagRequirementsBody
) -> TagRequirementsBody:
    """Replace the mapping: adding a tag adds its skills to the conversation's requirements,
    removing it removes those again (unless set explicitly)."""
    mapping = await requirements.set_tag_map(data.tags)
    await audit.record(
        "routing.tag_requirements", actor_id=principal.agent.id, target_type="routing",
        target_id=None, data={"tags": mapping},
    )  # fmt: skip
    return TagRequirementsBody(tags=mapping)


handlers = [
    get_inbox_requirements,
    set_inbox_requirements,
    get_tag_requirements,
    set_tag_requirements,
]
