"""The adapter's exceptions: API failures (`SplynxError`) and unreadable data (`SplynxDataError`).

They are kept apart on purpose: an API failure means "try again later", a data error means
"this one record needs a person to look at it".
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx

TOKENS_PATH = "admin/auth/tokens"


class SplynxError(Exception):
    """Splynx refused a call, or kept failing until the retries ran out."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        internal_code: str | None = None,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        where = f"{method} {path}: " if method else ""
        status_part = f" [{status}{' ' + internal_code if internal_code else ''}]" if status else ""
        super().__init__(f"{where}{message}{status_part}")
        self.status = status
        self.internal_code = internal_code
        self.message = message
        self.method = method
        self.path = path
        self.retry_after = retry_after  # seconds the server asked for, when it asked


class SplynxAuthError(SplynxError):
    """Login or renewal failed: wrong key/secret, banned token, user agent or IP changed."""


class SplynxNotFound(SplynxError):
    """404: the record does not exist (any more)."""


class SplynxDataError(ValueError):
    """A Splynx record (or hook body) that does not have the shape or values we rely on."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        record_id: object = None,
        field: str | None = None,
        value: object = None,
        raw: object = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.record_id = record_id
        self.field = field
        self.value = value
        self.raw = raw  # the whole record as Splynx sent it, to keep for inspection


def redact(path: str) -> str:
    """The path as it may be logged: renew and logout carry the refresh token in it."""
    head, sep, _ = path.partition(TOKENS_PATH + "/")
    return head + sep + "…" if sep else path


def error_details(response: httpx.Response) -> tuple[str, str | None]:
    """Splynx's message and internal code from `{"error": {...}}`, or what the body offers."""
    try:
        payload = response.json()
    except ValueError:
        return (response.text.strip()[:200] or response.reason_phrase), None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        code = error.get("internal_code")
        return str(error.get("message") or response.reason_phrase), (str(code) if code else None)
    return response.reason_phrase, None


def retry_after(response: httpx.Response, now: float) -> float | None:
    """Seconds the server asked us to wait (delta-seconds or an HTTP date), if it asked."""
    header = response.headers.get("retry-after", "").strip()
    if not header:
        return None
    try:
        wait = float(header)
    except ValueError:
        try:
            wait = parsedate_to_datetime(header).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
    return max(wait, 0.0)
