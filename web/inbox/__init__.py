"""The agent inbox in the browser: server-rendered pages and the partials htmx swaps in.

`handlers` is one router: every page gets the signed-in `viewer`, and errors answer as pages
(a redirect to the login page, 403, 404) instead of the API's JSON.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router
from litestar.di import Provide

from hub.auth.access import NotFound
from hub.conversations.lifecycle import InvalidChange
from web.inbox import (
    access_pages,
    admin_pages,
    automation_pages,
    conversation_pages,
    crm_pages,
    list_pages,
    macro_pages,
    profile_pages,
    report_pages,
    workload_pages,
)
from web.inbox.render import html
from web.inbox.viewer import (
    EnrolRequired,
    LoginRequired,
    NotAllowed,
    host_of,
    is_htmx,
    provide_viewer,
    to_login,
    to_profile,
)
from web.security import Denied, NotSignedIn


def _error_page(status: int, title: str, message: str) -> Any:
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
        template = "inbox/_error.html" if is_htmx(request) else "error.html"
        context = {"status": status, "title": title, "message": message}
        return html(template, context, host=host_of(request), status=status)

    return handle


router = Router(
    path="/",
    route_handlers=[
        *list_pages.handlers,
        *conversation_pages.handlers,
        *admin_pages.handlers,
        *crm_pages.handlers,
        *access_pages.handlers,
        *profile_pages.handlers,
        *report_pages.handlers,
        *automation_pages.handlers,
        *workload_pages.handlers,
        *macro_pages.handlers,
    ],
    dependencies={"viewer": Provide(provide_viewer)},
    exception_handlers={
        LoginRequired: to_login,
        NotSignedIn: to_login,  # the guard (web.security.authorize) found no session
        Denied: _error_page(403, "Not allowed", "Your role may not open this page."),
        EnrolRequired: to_profile,
        NotFound: _error_page(404, "Not found", "There is nothing here, or you may not see it."),
        NotAllowed: _error_page(403, "Not allowed", "Your role may not open this page."),
        InvalidChange: _error_page(400, "Invalid request", "A filter or page link is not valid."),
    },
    include_in_schema=False,
)

handlers = [router]
