"""A small per-process cache whose entries expire: for rows read on every request of a hot path.

Other processes see a change at the latest when their entry expires. A new set of services (a
restart in the same process, or the next test) may reuse ids, so `hub.system.services.start` empties
every cache.
"""

from __future__ import annotations

import time
import weakref
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

_every: weakref.WeakSet[TtlCache[object, object]] = weakref.WeakSet()


class TtlCache(Generic[K, V]):
    """Entries live `seconds`; with `max_entries`, a full cache starts over rather than grow."""

    def __init__(self, seconds: float, *, max_entries: int | None = None) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        _every.add(self)  # type: ignore[arg-type]

    def lookup(self, key: K) -> tuple[bool, V | None]:
        """(True, value) while an entry lives, a stored None included; else (False, None)."""
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return False, None
        return True, entry[1]

    def get(self, key: K) -> V | None:
        return self.lookup(key)[1]

    def put(self, key: K, value: V) -> V:
        if self.max_entries is not None and len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.seconds, value)
        return value

    def drop(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


def clear_all() -> None:
    for cache in list(_every):
        cache.clear()
