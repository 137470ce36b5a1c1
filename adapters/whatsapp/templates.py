"""Approved message templates, configured per inbox, and the values an agent fills in.

WhatsApp only delivers templates outside the 24-hour window, and only ones the provider has
approved, so the inbox lists them (name, Twilio's ContentSid or Meta's language, the names of the
positional variables {{1}}, {{2}}, …) and a reply names one with its variables.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from hub.channels.contract import PermanentSendError

_CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")


class Template(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    content_sid: str = ""  # Twilio's approved Content template (HX…)
    language: str = ""  # Meta's template language code (en_US, pt_BR, …)
    variables: list[str] = []  # names of {{1}}, {{2}}, … in order, for the composer and the API
    body: str = ""  # the approved text, for showing the agent what will be sent


def parse_config(raw: Any, *, provider: str) -> list[dict[str, Any]]:
    """Validate the inbox's `templates` setting; returns it cleaned (raises ValueError)."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValueError("templates must be a list of {name, …} objects")
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        try:
            template = msgspec.convert(item, Template)
        except msgspec.ValidationError as exc:
            raise ValueError(f"templates[{index}]: {exc}") from None
        if not template.name.strip():
            raise ValueError(f"templates[{index}] needs a name")
        if template.name in seen:
            raise ValueError(f"template {template.name!r} is listed twice")
        seen.add(template.name)
        if provider == "twilio" and not _CONTENT_SID.fullmatch(template.content_sid):
            raise ValueError(
                f"template {template.name!r} needs the content_sid of its approved Twilio"
                " Content template (HX followed by 32 hex digits)"
            )
        if provider == "cloud" and not _LANGUAGE.fullmatch(template.language):
            raise ValueError(
                f"template {template.name!r} needs its approved language code (e.g. en_US)"
            )
        cleaned.append(msgspec.to_builtins(template))
    return cleaned


def resolve(configured: Any, requested: dict[str, Any]) -> tuple[Template, list[str]]:
    """The configured template a reply asks for and its variable values in {{n}} order.

    `requested` is the reply's `template`: `{name, variables}` where variables is a list in order,
    an object keyed "1", "2", …, or an object keyed by the configured variable names.
    """
    name = str(requested.get("name") or "")
    templates = {t["name"]: t for t in configured or []}
    if name not in templates:
        available = ", ".join(sorted(templates)) or "none are configured"
        raise PermanentSendError(
            f"template {name!r} is not configured on this inbox ({available})",
            code="unknown_template",
        )
    template = msgspec.convert(templates[name], Template)
    values = _ordered_values(template, requested.get("variables"))
    expected = len(template.variables)
    if expected and len(values) != expected:
        raise PermanentSendError(
            f"template {name!r} needs {expected} variable(s) ({', '.join(template.variables)});"
            f" {len(values)} given",
            code="template_variables",
        )
    if any(not v.strip() for v in values):
        # Both providers reject an empty parameter; say so before spending a send.
        raise PermanentSendError(
            f"template {name!r}: every variable needs a value", code="template_variables"
        )
    return template, values


def _ordered_values(template: Template, raw: Any) -> list[str]:
    if raw in (None, "", [], {}):
        return []
    if isinstance(raw, list):
        return [_text(v) for v in raw]
    if not isinstance(raw, dict):
        raise PermanentSendError(
            "template variables must be a list or an object", code="template_variables"
        )
    if all(str(k).isdigit() for k in raw):
        positions = sorted(int(k) for k in raw)
        if positions != list(range(1, len(positions) + 1)):
            raise PermanentSendError(
                "template variables must be numbered 1, 2, 3, … without gaps",
                code="template_variables",
            )
        return [_text(raw[str(n)] if str(n) in raw else raw[n]) for n in positions]
    unknown = sorted(set(map(str, raw)) - set(template.variables))
    if unknown:
        raise PermanentSendError(
            f"template {template.name!r} has no variable(s) {', '.join(unknown)}",
            code="template_variables",
        )
    return [_text(raw[n]) for n in template.variables if n in raw]


def _text(value: Any) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise PermanentSendError(
        "template variable values must be text or numbers", code="template_variables"
    )


def twilio_variables(values: list[str]) -> str:
    """Twilio's ContentVariables: a JSON object string keyed by position ("1", "2", …)."""
    return msgspec.json.encode({str(n): v for n, v in enumerate(values, start=1)}).decode()


def cloud_template(template: Template, values: list[str]) -> dict[str, Any]:
    """Meta's `template` object: name, language and the body parameters in order."""
    payload: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if values:
        payload["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}
        ]
    return payload
