"""CRM: sources (admin), syncs and their log (admin), customers, and agents' link decisions."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.params import Parameter

from hub.auth import audit
from hub.auth.accounts import Principal
from hub.auth.permissions import Permission
from hub.crm import customers, jobs, runs, sources
from hub.crm.contract import CrmError
from hub.system.services import current
from web.api.contacts import visible_contact
from web.errors import ApiError
from web.security import client_ip


class NewSource(msgspec.Struct):
    name: str
    kind: str = "splynx"
    config: dict[str, Any] = {}
    phone_region: str | None = None
    check: bool = True  # log in once to prove the credentials before saving


class SourcePatch(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    config: dict[str, Any] | None = None
    phone_region: str | None = None


class SyncRequest(msgspec.Struct):
    source_id: int | None = None
    full: bool = False


class LinkBody(msgspec.Struct):
    customer_id: int


class Items(msgspec.Struct):
    items: list[dict[str, Any]]


def _view(row: Any) -> dict[str, Any]:
    settings = current().settings
    return sources.public_view(row, secret_key=settings.secret_key, public_url=settings.public_url)


@post("/api/v1/crm/sources", tags=["crm"], status_code=201, permission=Permission.MANAGE_CRM)
async def create_source(
    principal: Principal, data: NewSource, request: Request[Any, Any, Any]
) -> dict[str, Any]:
    """Connect a CRM (Splynx: base_url, api_key, api_secret, hook_secret); secrets are write-only."""
    settings = current().settings
    row, generated = await sources.create_source(
        data.kind,
        data.name,
        data.config,
        secret_key=settings.secret_key,
        phone_region=data.phone_region or settings.crm_phone_region,
    )
    if data.check:
        connector = sources.connector_for(row, secret_key=settings.secret_key)
        try:
            await connector.check()
        except CrmError as exc:
            await sources.deactivate_source(int(row["id"]))
            raise ApiError(
                422, f"the CRM refused the settings: {exc}", code="crm_refused"
            ) from None
        finally:
            await connector.aclose()
    await audit.record(
        "crm_source.created",
        actor_id=principal.agent.id,
        target_type="crm_source",
        target_id=row["id"],
        ip=client_ip(request),
    )
    view = _view(row)
    if generated:
        view["generated_secrets"] = generated  # shown once: paste it into the CRM's hook settings
    return view


@get("/api/v1/crm/sources", tags=["crm"], permission=Permission.MANAGE_CRM)
async def list_sources(principal: Principal) -> Items:
    return Items(items=[_view(r) for r in await sources.list_sources()])


@get("/api/v1/crm/sources/{source_id:int}", tags=["crm"], permission=Permission.MANAGE_CRM)
async def get_source(principal: Principal, source_id: int) -> dict[str, Any]:
    return _view(await sources.get_source(source_id))


@patch("/api/v1/crm/sources/{source_id:int}", tags=["crm"], permission=Permission.MANAGE_CRM)
async def update_source(principal: Principal, source_id: int, data: SourcePatch) -> dict[str, Any]:
    """Rename, change the phone region, or merge settings (a key set to null is removed)."""
    row = await sources.update_source(
        source_id,
        secret_key=current().settings.secret_key,
        name=data.name,
        config=data.config,
        phone_region=data.phone_region,
    )
    await audit.record(
        "crm_source.updated",
        actor_id=principal.agent.id,
        target_type="crm_source",
        target_id=source_id,
        data={"keys": sorted((data.config or {}).keys())},
    )
    return _view(row)


@delete(
    "/api/v1/crm/sources/{source_id:int}",
    tags=["crm"],
    status_code=204,
    permission=Permission.MANAGE_CRM,
)
async def delete_source(principal: Principal, source_id: int) -> None:
    """Deactivate a source: its customers no longer link or show."""
    await sources.deactivate_source(source_id)
    await audit.record(
        "crm_source.deleted",
        actor_id=principal.agent.id,
        target_type="crm_source",
        target_id=source_id,
    )


@post("/api/v1/crm/sync", tags=["crm"], status_code=202, permission=Permission.MANAGE_CRM)
async def start_sync(principal: Principal, data: SyncRequest) -> dict[str, Any]:
    """Start a sync (incremental, or `full`) and return its run; a run in progress is returned instead."""
    source_id = data.source_id
    if source_id is None:
        rows = await sources.list_sources()
        if len(rows) != 1:
            raise ApiError(400, "say which source to sync (source_id): there are several or none")
        source_id = int(rows[0]["id"])
    row = await sources.get_source(source_id)
    if row["demo"]:
        raise ApiError(422, "the demo source has no CRM to read from")
    return await jobs.start_sync(source_id, full=data.full, trigger="api")


@get("/api/v1/crm/sync-runs", tags=["crm"], permission=Permission.MANAGE_CRM)
async def list_runs(
    principal: Principal,
    source_id: int | None = None,
    limit: int = Parameter(default=50, ge=1, le=500),
) -> Items:
    """The sync log, newest first: status, counts per entity, the error of a failed run."""
    return Items(items=[runs.view(r) for r in await runs.recent(source_id, limit)])


@get("/api/v1/crm/sync-runs/{run_id:int}", tags=["crm"], permission=Permission.MANAGE_CRM)
async def get_run(principal: Principal, run_id: int) -> dict[str, Any]:
    """One run, with the records it could not read (their raw JSON)."""
    run = runs.view(await runs.get(run_id))
    run["bad"] = await runs.bad_records(run_id)
    return run


@get("/api/v1/crm/customers", tags=["crm"], permission=Permission.VIEW_CRM_CARD)
async def search_customers(
    principal: Principal,
    q: str = Parameter(description="a name, login, email or phone (any format)"),
    limit: int = Parameter(default=25, ge=1, le=100),
) -> Items:
    return Items(items=await customers.search(q, limit=limit))


@get("/api/v1/crm/customers/{customer_id:int}", tags=["crm"], permission=Permission.VIEW_CRM_CARD)
async def get_customer(principal: Principal, customer_id: int) -> dict[str, Any]:
    """A customer with services, open invoices, open tickets and the contacts it links."""
    return await customers.customer(customer_id)


@post(
    "/api/v1/contacts/{contact_id:int}/crm-links",
    tags=["crm"],
    status_code=204,
    permission=Permission.EDIT_CONTACTS,
)
async def link_customer(principal: Principal, contact_id: int, data: LinkBody) -> None:
    """Link a contact to a CRM customer by hand (logged)."""
    await visible_contact(principal, contact_id)
    await customers.link(contact_id, data.customer_id, agent_id=principal.agent.id)


@delete(
    "/api/v1/contacts/{contact_id:int}/crm-links/{customer_id:int}",
    tags=["crm"],
    status_code=204,
    permission=Permission.EDIT_CONTACTS,
)
async def unlink_customer(principal: Principal, contact_id: int, customer_id: int) -> None:
    """This contact is not that customer: the match is blocked, even if they share an address (logged)."""
    await visible_contact(principal, contact_id)
    await customers.unlink(contact_id, customer_id, agent_id=principal.agent.id)


@get("/api/v1/contacts/{contact_id:int}/crm", tags=["crm"], permission=Permission.VIEW_CRM_CARD)
async def contact_crm(principal: Principal, contact_id: int) -> Response[Any]:
    """The contact's CRM card data (also part of GET /api/v1/contacts/{id})."""
    await visible_contact(principal, contact_id)
    return Response(customers.api_view(await customers.card(contact_id)))


handlers = [
    create_source,
    list_sources,
    get_source,
    update_source,
    delete_source,
    start_sync,
    list_runs,
    get_run,
    search_customers,
    get_customer,
    link_customer,
    unlink_customer,
    contact_crm,
]
