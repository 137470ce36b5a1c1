import httpx

from hub.channels.contract import Identity
from hub.conversations import threading as th
from tests.conftest import admin_key, inbound, make_api_inbox


def test_reply_tokens_name_one_conversation_and_cannot_be_forged() -> None:
    token = th.reply_token("s" * 40, 1234)
    assert th.conversation_for_token("s" * 40, token) == 1234
    assert th.conversation_for_token("s" * 40, token.upper()) == 1234
    assert th.conversation_for_token("other-secret" * 4, token) is None
    assert th.conversation_for_token("s" * 40, "c1235" + token[5:]) is None
    assert th.conversation_for_token("s" * 40, "nonsense") is None


async def test_lookups_by_provider_ids_and_by_ref_from_a_participant(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_key(client)
    inbox = await make_api_inbox(client, headers)
    first = (
        await inbound(
            client, headers, inbox["id"], "<a@mail>", kind="email", sender="ann@example.com"
        )
    ).json()
    conversation_id = first["conversation_id"]
    assert (
        await th.conversation_by_provider_ids(inbox["id"], ["<zzz@mail>", "<a@mail>"])
        == conversation_id
    )
    assert await th.conversation_by_provider_ids(inbox["id"], []) is None
    assert await th.conversation_by_provider_ids(inbox["id"] + 1000, ["<a@mail>"]) is None
    ref = (await client.get(f"/api/v1/conversations/{conversation_id}", headers=headers)).json()[
        "ref"
    ]
    assert (
        await th.conversation_by_ref(inbox["id"], ref, Identity("email", "ANN@example.com"))
        == conversation_id
    )
    # Someone who is not a participant cannot pull a conversation by quoting its number.
    assert (
        await th.conversation_by_ref(inbox["id"], ref, Identity("email", "mallory@example.com"))
        is None
    )
    assert await th.provider_ids_of(conversation_id) == ["<a@mail>"]
