"""What the hub expects of the notifiers it finds at runtime (entry points `hub.notifiers`):
`slack` posts a message, `email` sends an agent's digest. hub/ cannot import adapters/, so the
adapters implement these protocols and are looked up by name."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any, Protocol


class SlackError(Exception):
    def __init__(self, message: str, *, temporary: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary


class SlackRateLimited(SlackError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Slack rate limit: retry after {retry_after} s", temporary=True)
        self.retry_after = retry_after


class Slack(Protocol):
    async def post(
        self, config: dict[str, Any], channel: str, note: dict[str, Any], thread_ts: str | None
    ) -> str | None: ...


class Mailer(Protocol):
    async def send_digest(
        self, smtp: dict[str, Any], to: str, name: str, items: list[dict[str, Any]]
    ) -> None: ...

    # A plain-text mail to an agent (a password reset link), through the same hub SMTP.
    async def send_text(
        self, smtp: dict[str, Any], to: str, name: str, subject: str, text: str
    ) -> None: ...


class NoNotifier(LookupError):
    pass


_overrides: dict[str, Any] = {}


def register(name: str, notifier: Any) -> None:
    """Use `notifier` for `name` in this process (tests pass one pointed at a fake)."""
    _overrides[name] = notifier
    _installed.cache_clear()


@cache
def _installed(name: str) -> Any:
    if name in _overrides:
        return _overrides[name]
    for entry in entry_points(group="hub.notifiers"):
        if entry.name == name:
            return entry.load()()
    raise NoNotifier(f"no notifier {name!r} is installed (entry point group hub.notifiers)")


def slack() -> Slack:
    notifier: Slack = _installed("slack")
    return notifier


def mailer() -> Mailer:
    notifier: Mailer = _installed("email")
    return notifier
