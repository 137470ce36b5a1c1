"""An agent's own sessions: list them, end one, end all but the current one.

Only ever the agent's own: a session id of someone else's answers like an unknown one.
"""

from __future__ import annotations

from typing import Any

from hub.auth import audit
from hub.db.engine import connection_pool


async def list_sessions(agent_id: int, *, current_id: int) -> list[dict[str, Any]]:
    rows = await connection_pool().fetch(
        "SELECT id, created_at, last_seen_at, expires_at, ip, user_agent, method"
        " FROM agent_session WHERE agent = $1 AND expires_at > now() ORDER BY last_seen_at DESC",
        agent_id,
    )
    return [dict(r) | {"current": r["id"] == current_id} for r in rows]


async def revoke(agent_id: int, session_id: int, *, ip: str) -> bool:
    """End one of the agent's sessions; False when it is not theirs (or gone already)."""
    gone = await connection_pool().fetchval(
        "DELETE FROM agent_session WHERE id = $1 AND agent = $2 RETURNING id", session_id, agent_id
    )
    if gone is not None:
        await audit.record(
            "session.revoke", actor_id=agent_id, target_type="session", target_id=session_id,
            ip=ip,
        )  # fmt: skip
    return gone is not None


async def revoke_others(agent_id: int, *, current_id: int, ip: str) -> int:
    rows = await connection_pool().fetch(
        "DELETE FROM agent_session WHERE agent = $1 AND id <> $2 RETURNING id", agent_id, current_id
    )
    await audit.record(
        "session.revoke_others", actor_id=agent_id, target_type="agent", target_id=agent_id,
        data={"count": len(rows)}, ip=ip,
    )  # fmt: skip
    return len(rows)
