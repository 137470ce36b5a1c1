"""Durations as fixed log-spaced histogram buckets, so medians and p90s can be summed by hour.

Bucket 0 holds durations under one second; bucket b ≥ 1 holds [2^((b-1)/8), 2^(b/8)) seconds,
eight buckets per doubling, up to the last one (about 8 years and beyond). A quantile is read as
the geometric middle of the bucket holding the rank: the true value is within a factor 2^(1/16)
of it, so the error is at most ±4.4 % (ERROR_BOUND). Averages are exact (the rows keep sums).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

PER_DOUBLING = 8
LAST = 8 * 28  # 2^28 s ≈ 8.5 years: everything longer shares the last bucket
ERROR_BOUND = 2 ** (1 / (2 * PER_DOUBLING)) - 1


def bucket_of(seconds: float) -> int:
    if seconds < 1:
        return 0
    return min(LAST, math.floor(math.log2(seconds) * PER_DOUBLING) + 1)


def middle(bucket: int) -> float:
    """The value reported for a duration in `bucket` (seconds)."""
    if bucket <= 0:
        return 0.5
    return float(2 ** ((bucket - 0.5) / PER_DOUBLING))


def quantile(counts: Mapping[int, int], q: float) -> float | None:
    """The nearest-rank quantile of the durations counted per bucket, or None when there are none."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            return middle(bucket)
    return middle(max(counts))
