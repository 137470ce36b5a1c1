"""The composition root: builds the Litestar app from settings and wires the hub's services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

import hub.domains  # noqa: F401  (registers every domain's jobs before a worker starts)
from hub.system import services
from hub.system.config import Settings, load_settings
from web import crm_hooks, csat_page, media, ops, pages, realtime, webhooks, widget
from web.api import (
    api_keys,
    attachments,
    audit_log,
    automation,
    contacts,
    conversation_merge,
    conversations,
    crm,
    csat,
    events,
    inboxes,
    login,
    macros,
    notifications,
    people,
    profile,
    reports,
    requirements,
    roles,
    routing,
    sla,
    slack,
    webhook_subscriptions,
)
from web.api import auth as auth_api
from web.errors import domain_handlers, http_exception_handler, internal_error_handler
from web.headers import add_security_headers
from web.input_errors import input_handlers
from web.logs import configure as configure_logging
from web.metrics import MetricsController, metrics_middleware
from web.openapi_doc import document_errors
from web.openapi_ui import VendoredSwaggerPlugin
from web.proxies import forwarded_for, record_origin
from web.security import authorize_middleware, provide_principal
from web.widget import limits

HERE = Path(__file__).parent


def create_app(
    settings: Settings | None = None,
    *,
    run_worker: bool | None = None,
    apply_migrations: bool = True,
) -> Litestar:
    """Build the app. The worker runs in-process when there is no Redis (or when asked to)."""
    settings = settings or load_settings()
    with_worker = settings.redis_url is None if run_worker is None else run_worker
    limits.configure(
        widget_burst=settings.widget_rate_burst,
        widget_per_second=settings.widget_rate_per_second,
        webhook_burst=settings.webhook_rate_burst,
        webhook_per_second=settings.webhook_rate_per_second,
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await services.start(settings, apply_migrations=apply_migrations, run_worker=with_worker)
        await realtime.relay.start()
        try:
            yield
        finally:
            await realtime.relay.stop()
            await services.stop()

    app = Litestar(
        route_handlers=[
            ops.health,
            ops.ready,
            ops.queue_check,
            MetricsController,
            *auth_api.handlers,
            *login.handlers,
            *profile.handlers,
            api_keys.create_key,
            api_keys.list_keys,
            api_keys.revoke_key,
            *conversations.handlers,
            *conversation_merge.handlers,
            *inboxes.handlers,
            *sla.handlers,
            *routing.handlers,
            *requirements.handlers,
            *people.handlers,
            *roles.handlers,
            *audit_log.handlers,
            *notifications.handlers,
            *slack.handlers,
            *attachments.handlers,
            *events.handlers,
            *contacts.handlers,
            *crm.handlers,
            *reports.handlers,
            *csat.handlers,
            *csat_page.handlers,
            *automation.handlers,
            *macros.handlers,
            *webhook_subscriptions.handlers,
            realtime.agent_socket,
            *widget.handlers,
            *crm_hooks.handlers,
            *webhooks.handlers,
            *media.handlers,
            *pages.handlers,
            create_static_files_router(
                path="/static", directories=[HERE / "static"], opt={"access": "public"}
            ),
        ],
        dependencies={"principal": Provide(provide_principal)},
        lifespan=[lifespan],
        before_send=[add_security_headers],
        middleware=[
            forwarded_for(settings.trusted_proxies),
            record_origin,
            metrics_middleware,
            authorize_middleware,  # every route's declared permission (web.security)
        ],
        exception_handlers={
            **domain_handlers(),
            **input_handlers(),
            HTTPException: http_exception_handler,
            Exception: internal_error_handler,
        },
        # Uploads up to the attachment limit, plus room for multipart framing or base64.
        request_max_body_size=settings.attachment_max_bytes * 4 // 3 + 1024 * 1024,
        template_config=TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(
            title="Hub API",
            version="1",
            path="/schema",
            render_plugins=[VendoredSwaggerPlugin()],
        ),
        logging_config=None,  # web.logs configures logging once for the process
        debug=False,
    )
    document_errors(app)
    return app


def create_serve_app(*, run_worker: bool | None = None) -> Litestar:
    """What each process of `hub serve --processes N` runs (the parent applied the migrations)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, run_worker=run_worker, apply_migrations=False)


def create_app_from_env() -> Litestar:
    """Factory for ASGI servers (`uvicorn --factory web.app:create_app_from_env`)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
