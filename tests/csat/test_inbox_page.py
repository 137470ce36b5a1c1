"""The answer on the conversation page: the header's CSAT badge with the comment, the survey
message marked, the timeline line."""

from __future__ import annotations

import httpx

from hub.csat import answers
from tests.conftest import admin_key, inbound, login, make_agent, make_api_inbox
from tests.csat.conftest import enable, resolve_and_send


async def test_the_conversation_page_shows_rating_and_comment(client: httpx.AsyncClient) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    await enable(client, headers, inbox["id"])
    response = await inbound(client, headers, inbox["id"], "page-1", sender="+4531000001")
    conversation = response.json()["conversation_id"]
    survey = await resolve_and_send(client, headers, conversation)

    await make_agent("viewer@example.com", role="admin")
    await login(client, "viewer@example.com")
    page = await client.get(f"/inbox/conversations/{conversation}")
    assert page.status_code == 200
    assert "Survey sent" in page.text and 'class="badge csat ' not in page.text

    await answers.record(survey["id"], 2, "Took <b>three</b> calls", via="link")
    page = await client.get(f"/inbox/conversations/{conversation}")
    assert 'id="conversation-csat"' in page.text
    assert "CSAT 2/5" in page.text
    assert "Took &lt;b&gt;three&lt;/b&gt; calls" in page.text  # escaped, in the badge and timeline
    assert "Customer rated the conversation 2/5" in page.text
    assert "Satisfaction survey · answered" in page.text
