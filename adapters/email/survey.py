"""A CSAT survey by email: the question and five links into the signed answer page.

Each link opens `/csat/{token}?rating=N` with that rating chosen; only the page's button stores
it, so a mail scanner opening every link answers nothing.
"""

from __future__ import annotations

import html

from hub.channels.contract import Survey

LABELS = {1: "Very poor", 2: "Poor", 3: "Okay", 4: "Good", 5: "Excellent"}


def text(survey: Survey) -> str:
    lines = [survey.question, ""]
    lines += [f"{n} - {LABELS[n]}: {survey.link}?rating={n}" for n in survey.ratings]
    lines += ["", f"Or answer here, with a comment if you like: {survey.link}"]
    return "\n".join(lines)


def html_body(survey: Survey) -> str:
    buttons = "".join(
        f'<a href="{html.escape(survey.link)}?rating={n}" style="display:inline-block;'
        "padding:8px 12px;margin:0 4px 4px 0;border:1px solid #c9ced6;border-radius:6px;"
        f'text-decoration:none;color:#1f2937">{n} · {LABELS[n]}</a>'
        for n in survey.ratings
    )
    return (
        '<!DOCTYPE html><html><body style="font-family: sans-serif">\n'
        f"<p>{html.escape(survey.question)}</p>\n<p>{buttons}</p>\n"
        f'<p><a href="{html.escape(survey.link)}">Answer with a comment</a></p>\n'
        "</body></html>\n"
    )
