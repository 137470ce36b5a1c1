"""The CRM card beside a conversation (and its search), and the CRM admin page."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from hub.auth.access import NotFound
from hub.auth.permissions import Permission
from hub.conversations import listing
from hub.crm import customers, runs, sources
from hub.system.services import current
from web.inbox.render import html
from web.inbox.viewer import Viewer


async def card_context(contact_id: int, conversation_id: int) -> dict[str, Any]:
    """What `inbox/_crm.html` needs: the card, and whether any CRM is connected at all."""
    crm = await customers.card(contact_id)
    return {"crm": crm, "crm_sources": crm["connected"], "conversation_id": conversation_id}


async def _contact_of(viewer: Viewer, conversation_id: int) -> int:
    conversation = await listing.get_conversation(conversation_id)
    if not viewer.sees(int(conversation["inbox_id"])):
        raise NotFound(f"no conversation {conversation_id}")
    return int(conversation["contact"]["id"])


@get("/inbox/conversations/{conversation_id:int}/crm", permission=Permission.VIEW_CRM_CARD)
async def crm_card(viewer: Viewer, conversation_id: int) -> Response[str]:
    """The customer card, re-rendered live (crm.updated) and after an agent's decision."""
    contact_id = await _contact_of(viewer, conversation_id)
    context = viewer.context(**await card_context(contact_id, conversation_id))
    return html("inbox/_crm.html", context, host=viewer.host)


@get("/inbox/conversations/{conversation_id:int}/crm/search", permission=Permission.VIEW_CRM_CARD)
async def crm_search(viewer: Viewer, conversation_id: int, q: str = "") -> Response[str]:
    """Customers to link by hand, when nothing the contact and a customer share matched."""
    await _contact_of(viewer, conversation_id)
    context = viewer.context(results=await customers.search(q, limit=10))
    return html("inbox/_crm_search.html", context, host=viewer.host)


@get("/admin/crm", permission=Permission.MANAGE_CRM)
async def crm_admin(viewer: Viewer) -> Response[str]:
    """CRM sources with their hooks URL and the sync log (a failed run shows the CRM's message)."""
    settings = current().settings
    rows = await sources.list_sources()
    context = viewer.context(
        section="crm",
        sources=[
            sources.public_view(r, secret_key=settings.secret_key, public_url=settings.public_url)
            for r in rows
        ],
        runs=[runs.view(r) for r in await runs.recent(None, 30)],
    )
    return html("admin/crm.html", context, host=viewer.host)


handlers = [crm_card, crm_search, crm_admin]
