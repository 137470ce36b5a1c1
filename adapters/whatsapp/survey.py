"""A CSAT survey on WhatsApp, inside the 24-hour window (outside it the hub sends the inbox's
approved template instead, through the normal template path).

Cloud API: an interactive list (reply buttons stop at three) whose rows carry the hub's choice
ids; the customer's pick comes back as `interactive.list_reply.id`. Twilio: a numbered text
prompt; the customer's bare digit is read by the hub as the answer.
"""

from __future__ import annotations

from typing import Any

from hub.channels.contract import Outbound, Survey

LABELS = {1: "Very poor", 2: "Poor", 3: "Okay", 4: "Good", 5: "Excellent"}
_BODY_LIMIT = 1024  # Meta's limit on an interactive body


def cloud_interactive(survey: Survey) -> dict[str, Any]:
    return {
        "type": "list",
        "body": {"text": survey.question[:_BODY_LIMIT]},
        "action": {
            "button": "Rate us",
            "sections": [
                {
                    "title": "Your rating",
                    "rows": [
                        {"id": survey.choice(n), "title": f"{n} - {LABELS[n]}"}
                        for n in survey.ratings
                    ],
                }
            ],
        },
    }


def numbered_text(survey: Survey) -> str:
    scale = ", ".join(f"{n} = {LABELS[n].lower()}" for n in (1, 5))
    return f"{survey.question}\n\nReply with a number from 1 to 5 ({scale})."


def template_request(configured: Any, message: Outbound) -> dict[str, Any]:
    """The template a message asks for; a survey's template with one variable gets the signed
    answer link as {{1}} (a template with none is sent as it is: the customer replies 1-5)."""
    requested = dict(message.template or {})
    if message.survey is None or requested.get("variables"):
        return requested
    declared = next(
        (
            t
            for t in configured or []
            if isinstance(t, dict) and t.get("name") == requested.get("name")
        ),
        None,
    )
    if declared is not None and len(declared.get("variables") or []) == 1:
        requested["variables"] = [message.survey.link]
    return requested
