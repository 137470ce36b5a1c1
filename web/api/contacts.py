"""Contacts: one person across channels, with their CRM customer; merging and unmerging."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, post
from litestar import get as get_route

from hub.auth import access
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.contacts import identities, merge
from hub.crm import customers
from hub.db.engine import connection_pool
from web.errors import ApiError
from web.security import client_ip


class MergeBody(msgspec.Struct):
    other_id: int


class UnmergeBody(msgspec.Struct):
    other_id: int | None = None


async def _visible_conversations(principal: Principal, contact_id: int) -> list[Any] | None:
    """The contact's conversations the agent may see; None when the agent sees every inbox."""
    visible = await access.visible_inbox_ids(principal.agent)
    rows = await connection_pool().fetch(
        "SELECT id, ref, inbox, status, subject, last_message_at FROM conversation WHERE contact = $1"
        " AND ($2::int[] IS NULL OR inbox = ANY($2::int[])) ORDER BY last_message_at DESC LIMIT 50",
        contact_id,
        visible,
    )
    if visible is not None and not rows:
        raise access.NotFound(f"no contact {contact_id}")
    return list(rows)


async def visible_contact(principal: Principal, contact_id: int) -> None:
    """404 unless the contact exists and the agent sees one of its conversations (ids do not leak)."""
    if await connection_pool().fetchval("SELECT 1 FROM contact WHERE id = $1", contact_id) is None:
        raise access.NotFound(f"no contact {contact_id}")
    await _visible_conversations(principal, contact_id)


@get_route(
    "/api/v1/contacts/{contact_id:int}", tags=["contacts"], permission=Permission.READ_CONTACTS
)
async def get_contact(principal: Principal, contact_id: int) -> dict[str, Any]:
    """A contact with its identities across channels, the conversations you may see, and its
    CRM customer (`crm`: customer, services, open invoices, open tickets)."""
    detail = await identities.contact_detail(contact_id)
    if detail is None:
        raise access.NotFound(f"no contact {contact_id}")
    rows = await _visible_conversations(principal, contact_id) or []
    detail["conversations"] = [
        {
            "id": r["id"],
            "ref": r["ref"],
            "inbox_id": r["inbox"],
            "status": r["status"],
            "subject": r["subject"],
            "last_message_at": r["last_message_at"],
        }
        for r in rows
    ]
    detail["crm"] = customers.api_view(await customers.card(contact_id))
    return detail


@post(
    "/api/v1/contacts/{contact_id:int}/merge",
    tags=["contacts"],
    status_code=200,
    permission=Permission.MERGE_CONTACTS,
)
async def merge_contact(
    principal: Principal, contact_id: int, data: MergeBody, request: Request[Any, Any, Any]
) -> dict[str, Any]:
    """Merge `other_id` into this contact: its identities and conversations move here (logged;
    undo with /unmerge within 30 days)."""
    await visible_contact(principal, contact_id)
    await visible_contact(principal, data.other_id)
    try:
        return await merge.merge(
            contact_id, data.other_id, agent_id=principal.agent.id, ip=client_ip(request)
        )
    except merge.InvalidMerge as exc:
        raise ApiError(422, str(exc)) from None


@post(
    "/api/v1/contacts/{contact_id:int}/unmerge",
    tags=["contacts"],
    status_code=200,
    permission=Permission.MERGE_CONTACTS,
)
async def unmerge_contact(
    principal: Principal, contact_id: int, data: UnmergeBody, request: Request[Any, Any, Any]
) -> dict[str, Any]:
    """Undo the latest merge into this contact (of `other_id`, if given) of the last 30 days."""
    await visible_contact(principal, contact_id)
    return await merge.unmerge(
        contact_id, other_id=data.other_id, agent_id=principal.agent.id, ip=client_ip(request)
    )


handlers = [get_contact, merge_contact, unmerge_contact]
