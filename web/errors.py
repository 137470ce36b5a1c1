"""One error shape for the whole API: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = logging.getLogger(__name__)

_CODES = {
    400: "invalid_input",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "unprocessable",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(HTTPException):
    """An HTTP error with a machine code of our choosing."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code or _CODES.get(status_code, "error")
        self.details = details


def error_body(
    status: int, message: str, code: str | None = None, details: Any = None
) -> dict[str, Any]:
    return {
        "error": {
            "code": code or _CODES.get(status, "error"),
            "message": message,
            "details": details,
        }
    }


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = getattr(exc, "code", None)
    details = getattr(exc, "details", None)
    if isinstance(exc, ValidationException):
        details = exc.extra
        code = "invalid_input"
    message = exc.detail or "error"
    return Response(
        error_body(exc.status_code, message, code, details),
        status_code=exc.status_code,
        media_type=MediaType.JSON,
        headers=exc.headers,
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return Response(
        error_body(500, "internal error; the server log has the details", "internal_error"),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        media_type=MediaType.JSON,
    )


def domain_handlers() -> dict[int | type[Exception], Any]:
    """The core's exceptions, answered with the right status and a sentence."""
    from hub.auth.access import Forbidden, NotFound
    from hub.auth.oidc_providers import InvalidProvider
    from hub.auth.passwords import WeakPassword
    from hub.auth.people import InvalidPeople
    from hub.auth.reset import InvalidReset
    from hub.auth.roles import InvalidRole, RoleInUse
    from hub.auth.totp import InvalidTotp
    from hub.automation.validation import InvalidRule
    from hub.channels.inboxes import InvalidInbox
    from hub.contacts.identities import InvalidIdentity
    from hub.contacts.merge import InvalidMerge
    from hub.conversations.lifecycle import InvalidChange
    from hub.crm.sources import InvalidSource
    from hub.macros.render import TemplateError
    from hub.macros.store import InvalidMacro, MacroForbidden
    from hub.notifications.kinds import InvalidPreference
    from hub.notifications.mentions import InvalidMention
    from hub.notifications.slack import InvalidSlackConfig
    from hub.outbox.replies import InvalidReply
    from hub.routing.requirements import InvalidSkills
    from hub.routing.teams import Conflict
    from hub.sla.policies import InvalidSla
    from hub.storage.attachments import AttachmentTooLarge
    from hub.system.crypto import SecretKeyMismatch
    from hub.webhooks.subscriptions import InvalidSubscription
    from web.api.conversation_merge import MergedElsewhere

    def invalid_rule(request: Request[Any, Any, Any], exc: InvalidRule) -> Response[Any]:
        body = error_body(422, str(exc), "invalid_rule", {"path": exc.path})
        return Response(body, status_code=422, media_type=MediaType.JSON)

    def handler(status: int, code: str | None = None) -> Any:
        def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
            return Response(
                error_body(status, str(exc), code), status_code=status, media_type=MediaType.JSON
            )

        return handle

    return {
        NotFound: handler(404),
        SecretKeyMismatch: handler(409, "secret_key_mismatch"),
        Forbidden: handler(403),
        AttachmentTooLarge: handler(413),
        InvalidIdentity: handler(422, "invalid_identity"),
        InvalidChange: handler(422),
        InvalidInbox: handler(422, "invalid_inbox"),
        InvalidReply: handler(422, "invalid_reply"),
        InvalidSla: handler(422, "invalid_sla"),
        Conflict: handler(409, "conflict"),
        InvalidSkills: handler(422, "invalid_skills"),
        MergedElsewhere: lambda request, exc: exc.response,
        InvalidPeople: handler(422, "invalid_input"),
        RoleInUse: handler(409, "role_in_use"),
        InvalidRole: handler(422, "invalid_role"),
        WeakPassword: handler(422, "weak_password"),
        InvalidTotp: handler(422, "invalid_code"),
        InvalidReset: handler(400, "invalid_reset"),
        InvalidProvider: handler(422, "invalid_provider"),
        InvalidSource: handler(422, "invalid_crm_source"),
        InvalidMerge: handler(422, "invalid_merge"),
        InvalidPreference: handler(422, "invalid_preference"),
        InvalidMention: handler(422, "invalid_mention"),
        InvalidSlackConfig: handler(422, "invalid_slack_config"),
        InvalidRule: invalid_rule,
        InvalidMacro: handler(422, "invalid_macro"),
        TemplateError: handler(422, "invalid_template"),
        MacroForbidden: handler(403),
        InvalidSubscription: handler(422, "invalid_webhook_subscription"),
    }
