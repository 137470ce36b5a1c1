"""The public answer page of a survey, `/csat/{token}`: five rating buttons and a comment.

Opening the page changes nothing (mail scanners open links); only the form's POST stores an
answer. A forged token is 403, a survey past its window (or replaced by a newer one) 410.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from hub.csat import answers, tokens
from hub.db.engine import connection_pool
from hub.system.services import current
from web.inbox.render import html
from web.inbox.viewer import host_of

RATINGS = [(1, "Very poor"), (2, "Poor"), (3, "Okay"), (4, "Good"), (5, "Excellent")]


def _page(request: Request[Any, Any, Any], status: int, **context: Any) -> Response[str]:
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    context.setdefault("ratings", RATINGS)
    return html("csat.html", context, host=host_of(request), status=status, headers=headers)


async def _survey(token: str) -> tuple[int, dict[str, Any]] | tuple[int, None]:
    survey_id = tokens.read(current().settings.secret_key, token)
    if survey_id is None:
        return 403, None
    async with connection_pool().acquire() as conn, conn.transaction():
        try:
            row = await answers.open_survey(conn, survey_id)
        except answers.Refused as exc:
            return exc.status, None
        previous = await conn.fetchrow(
            "SELECT rating, comment FROM csat_response WHERE conversation = $1",
            row["conversation"],
        )
    return 200, {
        "question": row["question"],
        "rating": previous["rating"] if previous else None,
        "comment": (previous["comment"] or "") if previous else "",
    }


_MESSAGES = {
    403: "This link is not valid. Please use the link from the message we sent you.",
    404: "This survey is not open.",
    410: "Thank you — this survey has closed.",
}


@get("/csat/{token:str}", include_in_schema=False, access="public")
async def csat_page(request: Request[Any, Any, Any], token: str) -> Response[str]:
    status, survey = await _survey(token)
    if survey is None:
        return _page(request, status, closed=_MESSAGES.get(status, _MESSAGES[404]))
    chosen = request.query_params.get("rating", "")
    if chosen.isdigit() and 1 <= int(chosen) <= 5:
        survey["rating"] = int(chosen)
    return _page(request, 200, token=token, **survey)


@post("/csat/{token:str}", include_in_schema=False, status_code=200, access="public")
async def csat_answer(
    request: Request[Any, Any, Any],
    token: str,
    data: dict[str, str] = Body(media_type=RequestEncodingType.URL_ENCODED),
) -> Response[str]:
    survey_id = tokens.read(current().settings.secret_key, token)
    if survey_id is None:
        return _page(request, 403, closed=_MESSAGES[403])
    raw = (data.get("rating") or "").strip()
    comment = (data.get("comment") or "")[: answers.MAX_COMMENT + 1]
    try:
        answer = await answers.record(
            survey_id, int(raw) if raw.isdigit() else raw, comment, via="link"
        )
    except answers.Refused as exc:
        if exc.status == 400:
            _, survey = await _survey(token)
            if survey is not None:
                return _page(request, 400, token=token, error=str(exc), **survey)
        return _page(request, exc.status, closed=_MESSAGES.get(exc.status, str(exc)))
    return _page(
        request,
        200,
        token=token,
        thanks=True,
        rating=answer.rating,
        comment=answer.comment or "",
        question="",
    )


handlers = [csat_page, csat_answer]
