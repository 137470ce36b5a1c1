"""Which agents have an inbox tab open in this process, reported to the hub every 30 seconds.

The hub keeps `agent.seen_at`; an agent not seen for HUB_AWAY_AFTER_SECONDS becomes away. A
heartbeat rather than connect/disconnect counters, so a crashed web process cannot leave an agent
"present" forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter

from hub.routing import availability

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 30

_open: Counter[int] = Counter()
_task: asyncio.Task[None] | None = None


async def _beat() -> None:
    while _open:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        with contextlib.suppress(Exception):
            await availability.touch(list(_open))


async def connected(agent_id: int) -> None:
    global _task
    _open[agent_id] += 1
    try:
        await availability.touch([agent_id])
    except Exception:
        log.exception("could not record the presence of agent %s", agent_id)
    if _task is None or _task.done():
        _task = asyncio.create_task(_beat())


async def disconnected(agent_id: int) -> None:
    _open[agent_id] -= 1
    if _open[agent_id] <= 0:
        del _open[agent_id]
        # The last tab closed: "seen" is now, and away follows after the configured time.
        with contextlib.suppress(Exception):
            await availability.touch([agent_id])
