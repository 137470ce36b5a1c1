"""Request metrics for Prometheus: counts, durations, in-progress and errors per route.

The same series as Litestar's Prometheus middleware (`hub_requests_total`,
`hub_request_duration_seconds`, `hub_requests_in_progress`, `hub_requests_error_total`, labelled
method, path template, status code and app name), at a fraction of its cost: labelled children
are looked up once per route and status and kept, and the ASGI `send` is wrapped without
`functools.wraps`. With the library's middleware, metrics took about 7 % of the CPU of an API
channel request.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.plugins.prometheus import PrometheusController
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge, Histogram

APP_NAME = "hub"
EXCLUDED = frozenset({"/metrics", "/health"})
LABELS = ("method", "path", "status_code", "app_name")

REQUESTS = Counter("hub_requests_total", "Total requests", LABELS)
DURATION = Histogram("hub_request_duration_seconds", "Request duration, in seconds", LABELS)
IN_PROGRESS = Gauge(
    "hub_requests_in_progress",
    "Total requests currently in progress",
    LABELS,
    multiprocess_mode="livesum",
)
ERRORS = Counter("hub_requests_error_total", "Total errors in requests", LABELS)

# (method, path template, status) -> (requests child, duration child, errors child or None)
_done: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
# (method, path template) -> in-progress child
_running: dict[tuple[str, str], Any] = {}


def _finished(method: str, path: str, status: int) -> tuple[Any, Any, Any]:
    key = (method, path, status)
    children = _done.get(key)
    if children is None:
        labels = (method, path, str(status), APP_NAME)
        children = (
            REQUESTS.labels(*labels),
            DURATION.labels(*labels),
            ERRORS.labels(*labels) if status >= 500 else None,
        )
        _done[key] = children
    return children


def metrics_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path_template") or scope["path"]
        if path in EXCLUDED:
            await app(scope, receive, send)
            return
        method = str(scope.get("method") or scope["type"])
        running = _running.get((method, path))
        if running is None:
            # The in-progress series is labelled like the others; its status is always 200.
            running = _running[(method, path)] = IN_PROGRESS.labels(method, path, "200", APP_NAME)
        started = time.perf_counter()
        span = [200, 0.0]  # status, seconds until the body was sent

        async def measured_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                span[0] = message["status"]
            elif message["type"] == "http.response.body":
                span[1] = time.perf_counter() - started
            await send(message)

        running.inc()
        try:
            await app(scope, receive, measured_send)
        finally:
            running.dec()
            count, duration, errors = _finished(method, path, int(span[0]))
            count.inc()
            duration.observe(span[1])
            if errors is not None:
                errors.inc()

    return middleware


class MetricsController(PrometheusController):
    """GET /metrics in Prometheus' text format, unauthenticated for the scraper: keep it off the
    public internet (docs/deploy.md). Outside the OpenAPI document, which would otherwise describe
    it as JSON (Litestar's controller declares no media type)."""

    opt = {"access": "public"}
    include_in_schema = False
