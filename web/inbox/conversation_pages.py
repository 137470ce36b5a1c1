"""The conversation view: the page, and the partials the live updates and actions swap in."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from litestar import Request, Response, get
from litestar.response import Redirect

from hub.auth.access import NotFound
from hub.auth.permissions import Permission
from hub.channels import inboxes
from hub.channels.contract import UnknownChannel, adapter_class
from hub.conversations import inbox_views, listing, summary
from hub.csat import queries as csat_queries
from hub.system.crypto import decrypt_json
from hub.system.services import current
from web.inbox.crm_pages import card_context
from web.inbox.list_pages import list_context
from web.inbox.listing import ListQuery, fetch_page
from web.inbox.render import channel_name, html
from web.inbox.timestamps import when
from web.inbox.viewer import Viewer

# The newest items are rendered; older ones load on demand ("Load earlier"), so a 5,000-message
# thread opens as fast as a short one.
TIMELINE_PAGE = 50
_NEWEST = 2**63 - 1


async def _conversation(conversation_id: int, viewer: Viewer) -> dict[str, Any]:
    conversation = await listing.get_conversation(conversation_id)
    if not viewer.sees(int(conversation["inbox_id"])):
        raise NotFound(f"no conversation {conversation_id}")  # ids of other inboxes do not leak
    conversation["csat"] = await csat_queries.for_conversation(conversation_id)
    return conversation


def _limits(conversation: dict[str, Any]) -> dict[str, Any] | None:
    """The channel's declared limits, shown by the composer before sending; None: not installed."""
    try:
        return adapter_class(str(conversation["channel"])).limits()
    except UnknownChannel:
        return None


def _outside_window(conversation: dict[str, Any], limits: dict[str, Any] | None) -> bool:
    hours = (limits or {}).get("reply_window_hours")
    last_inbound = when(conversation.get("last_inbound_at"))
    if not hours or last_inbound is None:
        return False
    return dt.datetime.now(dt.UTC) - last_inbound > dt.timedelta(hours=int(hours))


async def _templates(
    conversation: dict[str, Any], limits: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The inbox's approved templates, for channels with a reply window (one query, only then)."""
    if not (limits or {}).get("reply_window_hours"):
        return []
    row = await inboxes.get_inbox(int(conversation["inbox_id"]), include_inactive=True)
    config = decrypt_json(current().settings.secret_key, row["config_encrypted"])
    return [t for t in config.get("templates") or [] if isinstance(t, dict) and t.get("name")]


def _header_context(
    viewer: Viewer, conversation: dict[str, Any], nav: inbox_views.Navigation
) -> dict[str, Any]:
    inbox = next((i for i in nav.inboxes if i["id"] == conversation["inbox_id"]), None)
    return {
        "c": conversation,
        "nav": nav,
        "inbox_name": inbox["name"] if inbox else channel_name(conversation["channel"]),
        "agent_names": {a["id"]: a["name"] for a in nav.agents},
        "team_names": {t["id"]: t["name"] for t in nav.teams},
    }


async def _timeline(
    conversation_id: int, *, before: int = _NEWEST, after: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of items oldest first, and the id to load earlier ones from (None: none left)."""
    if after is not None:
        items = await listing.list_messages(conversation_id, after=after, limit=500)
        return items, None
    items = await listing.list_messages(conversation_id, before=before, limit=TIMELINE_PAGE + 1)
    if len(items) > TIMELINE_PAGE:
        items = items[1:]
        return items, int(items[0]["id"])
    return items, None


@get("/inbox/conversations/{conversation_id:int}", permission=Permission.READ_CONVERSATIONS)
async def conversation_page(
    request: Request[Any, Any, Any], viewer: Viewer, conversation_id: int
) -> Response[str] | Redirect:
    """One conversation: the list beside it, the timeline, the composer, the contact. A merged
    conversation's page redirects to the one it was merged into."""
    query = ListQuery.parse(request.query_params)
    # The navigation first: its newest event id is where the live socket resumes, so it must
    # not be newer than what the rest of the page shows. The rest is independent: in parallel.
    nav = await inbox_views.navigation(viewer.agent, viewer.visible)

    async def conversation_and_contact() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        conversation = await _conversation(conversation_id, viewer)
        contact_id = int(conversation["contact"]["id"])
        # The side panel shows only what the role may read (contacts.read, crm.card).
        contact: dict[str, Any] = {}
        if viewer.may(Permission.READ_CONTACTS):
            contact = await inbox_views.contact_card(
                contact_id, current_conversation=conversation_id, visible=viewer.visible
            )
        crm: dict[str, Any] = {}
        if viewer.may(Permission.VIEW_CRM_CARD):
            crm = await card_context(contact_id, conversation_id)
        return conversation, contact, crm

    try:
        async with asyncio.TaskGroup() as group:
            first = group.create_task(conversation_and_contact())
            page = group.create_task(fetch_page(query, viewer))
            timeline = group.create_task(_timeline(conversation_id))
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None  # e.g. NotFound: answered as a 404 page
    conversation, contact, crm = first.result()
    if conversation["status"] == "closed":
        # Merged conversations are closed: only then is there a pointer to look for.
        target = await summary.resolve(conversation_id)
        if target != conversation_id:
            query_string = f"?{request.url.query}" if request.url.query else ""
            return Redirect(f"/inbox/conversations/{target}{query_string}", status_code=303)
    items, next_cursor = page.result()
    messages, earlier = timeline.result()
    limits = _limits(conversation)
    context = list_context(viewer, query, nav, items, next_cursor, open_id=conversation_id)
    context.update(
        _header_context(viewer, conversation, nav),
        messages=messages,
        earlier=earlier,
        contact=contact,
        limits=limits,
        outside_window=_outside_window(conversation, limits),
        templates=await _templates(conversation, limits),
        **crm,
    )
    return html("inbox/conversation.html", context, host=viewer.host)


@get("/inbox/conversations/{conversation_id:int}/header", permission=Permission.READ_CONVERSATIONS)
async def header_partial(viewer: Viewer, conversation_id: int) -> Response[str]:
    """The conversation's header and actions, re-rendered after a change (htmx)."""
    nav = await inbox_views.navigation(viewer.agent, viewer.visible)
    conversation = await _conversation(conversation_id, viewer)
    context = viewer.context(**_header_context(viewer, conversation, nav))
    return html("inbox/_header.html", context, host=viewer.host)


@get(
    "/inbox/conversations/{conversation_id:int}/timeline", permission=Permission.READ_CONVERSATIONS
)
async def timeline_partial(
    viewer: Viewer,
    conversation_id: int,
    after: int | None = None,
    before: int | None = None,
) -> Response[str]:
    """Timeline items after an id (live updates) or before one ("Load earlier")."""
    await _conversation(conversation_id, viewer)
    if after is not None:
        messages, earlier = await _timeline(conversation_id, after=after)
    else:
        messages, earlier = await _timeline(conversation_id, before=before or _NEWEST)
    context = viewer.context(messages=messages, earlier=earlier, conversation_id=conversation_id)
    return html("inbox/_timeline.html", context, host=viewer.host)


@get("/inbox/messages/{message_id:int}", permission=Permission.READ_CONVERSATIONS)
async def message_partial(viewer: Viewer, message_id: int) -> Response[str]:
    """One timeline item, re-rendered when its delivery status changes."""
    inbox_id, message = await inbox_views.message(message_id)
    if not viewer.sees(inbox_id):
        raise NotFound(f"no message {message_id}")
    context = viewer.context(m=message)
    return html("inbox/_message.html", context, host=viewer.host)


handlers = [conversation_page, header_partial, timeline_partial, message_partial]
