"""Structured logging: JSON lines when not on a terminal, readable text on one."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


_CREDENTIAL_IN_URL = re.compile(r"((?:^|[?&;\s])(?:token|t|key|api_key)=)[^&\s\"']+")


def redact(text: str) -> str:
    """A URL (or log line) with credentials in its query string replaced by ***."""
    return _CREDENTIAL_IN_URL.sub(r"\1***", text)


class RedactCredentials(logging.Filter):
    """Keeps `?token=` (API keys, visitor tokens, chat links) out of the logs: uvicorn's access
    log writes every request's path with its query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def configure(level: str = "INFO", fmt: str = "auto") -> None:
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if use_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactCredentials())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("piccolo", "asyncio", "httpx", "pgserver"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
