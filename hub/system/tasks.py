"""Background tasks: stopping them."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel(*tasks: asyncio.Task[Any]) -> None:
    """Cancel the tasks and wait until each has ended; what they raise on the way out is dropped."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
