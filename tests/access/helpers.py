"""Agents with a given role and an API key, made without the API's own permission checks."""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from hub.auth import accounts
from tests.conftest import unique


async def make_role(
    client: httpx.AsyncClient, admin: dict[str, str], permissions: Iterable[str], key: str = ""
) -> str:
    key = key or unique("r").replace("-", "_")
    response = await client.post(
        "/api/v1/roles",
        json={"key": key, "name": f"Role {key}", "permissions": sorted(permissions)},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return key


async def agent_with(role: str, email: str = "") -> tuple[int, dict[str, str]]:
    """(agent id, headers with an API key) for a new agent of this role."""
    agent = await accounts.create_agent(
        email or unique(role) + "@example.com", "correct horse battery", role=role
    )
    _, key = await accounts.create_api_key(agent.id, "tests")
    return agent.id, {"authorization": f"Bearer {key}"}
