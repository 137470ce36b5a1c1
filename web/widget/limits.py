"""Rate limits for the widget: token buckets per visitor and per client address.

In-process and per web process on purpose: a limit check costs no network round trip, and with
N web processes behind a balancer the effective limit is at most N times these figures, which is
still enough to stop a script flooding an inbox.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """`capacity` requests at once, refilled at `per_second`; keys forgotten when idle."""

    def __init__(self, capacity: float, per_second: float, *, max_keys: int = 100_000) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, cost: float = 1.0) -> float:
        """0 when allowed (and counted), else the seconds to wait before trying again."""
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        else:
            bucket.tokens = min(
                self.capacity, bucket.tokens + (now - bucket.stamp) * self.per_second
            )
            bucket.stamp = now
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / self.per_second

    def _prune(self, now: float) -> None:
        # A bucket that has refilled completely carries no information: forget it.
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * self.per_second >= self.capacity
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:
            self._buckets.clear()  # under a flood of distinct keys, fail open rather than grow

    def reset(self) -> None:
        self._buckets.clear()

    def configure(self, capacity: float, per_second: float) -> None:
        self.capacity, self.per_second = capacity, per_second
        self._buckets.clear()


# Sessions create contacts: few per address. An office behind one NAT still gets 30 at once.
SESSIONS_PER_IP = TokenBuckets(30, 0.5)
MESSAGES_PER_VISITOR = TokenBuckets(20, 1.0)
MESSAGES_PER_IP = TokenBuckets(200, 5.0)
UPLOADS_PER_VISITOR = TokenBuckets(10, 0.2)
TYPING_PER_VISITOR = TokenBuckets(3, 1.0)  # excess typing notices are dropped, not refused
READS_PER_VISITOR = TokenBuckets(20, 2.0)
CONNECTS_PER_IP = TokenBuckets(120, 20.0)
REQUESTS_PER_IP = TokenBuckets(300, 20.0)  # every widget API call, reads included
# Provider webhooks per sending address: providers send from few addresses, so this is wide; it
# stops a flood of forged deliveries (each costs a signature check and a database read).
WEBHOOKS_PER_IP = TokenBuckets(600, 100.0)
ALL = (
    REQUESTS_PER_IP,
    SESSIONS_PER_IP,
    MESSAGES_PER_VISITOR,
    MESSAGES_PER_IP,
    UPLOADS_PER_VISITOR,
    TYPING_PER_VISITOR,
    READS_PER_VISITOR,
    CONNECTS_PER_IP,
    WEBHOOKS_PER_IP,
)


def configure(
    *, widget_burst: int, widget_per_second: int, webhook_burst: int, webhook_per_second: int
) -> None:
    """Apply the operator's figures (HUB_WIDGET_RATE_*, HUB_WEBHOOK_RATE_*) when an app starts."""
    REQUESTS_PER_IP.configure(widget_burst, widget_per_second)
    WEBHOOKS_PER_IP.configure(webhook_burst, webhook_per_second)
