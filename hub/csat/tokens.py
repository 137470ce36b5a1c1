"""The signed link of an email survey: `/csat/{token}` names one survey and nothing else.

The token is `<survey id>.<key id>.<mac>`: an HMAC of the survey id under a key derived from the
instance secret for this purpose, and the key id of the secret that made it, so a link mailed
before a secret rotation still works while that secret is listed as a previous one. It is not a
secret bearer of anything but the right to rate that one conversation, within its window.
"""

from __future__ import annotations

import re

from hub.system.crypto import constant_time_equal, key_id, reading_keys, sign

PURPOSE = "hub.csat-link.v1"
_SHAPE = re.compile(r"([1-9][0-9]{0,17})\.([0-9a-f]{8})\.([0-9a-f]{32})")


def issue(secret_key: str, survey_id: int) -> str:
    mac = sign(secret_key, PURPOSE, str(survey_id).encode())[:32]
    return f"{survey_id}.{key_id(secret_key)}.{mac}"


def read(secret_key: str, token: str) -> int | None:
    """The survey id of a genuine token; None for anything forged or malformed."""
    match = _SHAPE.fullmatch(token.strip())
    if match is None:
        return None
    survey, kid, mac = match.groups()
    for key in reading_keys(secret_key):
        if key_id(key) == kid:
            expected = sign(key, PURPOSE, survey.encode())[:32]
            return int(survey) if constant_time_equal(mac, expected) else None
    return None


def link(public_url: str, secret_key: str, survey_id: int) -> str:
    return f"{public_url.rstrip('/')}/csat/{issue(secret_key, survey_id)}"
