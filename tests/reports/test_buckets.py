"""The histogram's promise: a quantile read from buckets is within ERROR_BOUND of the exact one."""

from __future__ import annotations

import math
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.reports.buckets import ERROR_BOUND, LAST, bucket_of, middle, quantile

durations = st.integers(1, 2**27)


@given(seconds=durations)
def test_a_bucket_stands_for_its_durations_within_the_bound(seconds: int) -> None:
    bucket = bucket_of(seconds)
    assert 1 <= bucket < LAST
    assert abs(middle(bucket) - seconds) <= seconds * ERROR_BOUND * (1 + 1e-9)


@given(values=st.lists(durations, min_size=1, max_size=200), q=st.sampled_from([0.5, 0.9, 0.99]))
def test_quantiles_are_the_nearest_rank_within_the_bound(values: list[int], q: float) -> None:
    exact = sorted(values)[max(1, math.ceil(q * len(values))) - 1]
    got = quantile(Counter(bucket_of(v) for v in values), q)
    assert got is not None and abs(got - exact) <= exact * ERROR_BOUND * (1 + 1e-9)


def test_no_durations_no_quantile() -> None:
    assert quantile({}, 0.5) is None
    assert ERROR_BOUND < 0.045


@given(
    st.lists(st.tuples(st.integers(0, LAST), st.integers(1, 50)), min_size=1, max_size=40),
    st.sampled_from([0.5, 0.9]),
)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_the_database_reads_the_same_quantile(
    database: str, cells: list[tuple[int, int]], q: float
) -> None:
    """metrics reads medians and p90s in SQL (one row per group, not every bucket): the same
    bucket buckets.quantile picks, for any histogram."""
    import asyncpg

    from hub.reports.metrics import _QUANTILES

    counts: Counter[int] = Counter()
    for bucket, n in cells:
        counts[bucket] += n
    source = (
        "(SELECT 1 AS metric, b AS bucket, n, 0::bigint AS total"
        " FROM unnest($1::smallint[], $2::int[]) AS u(b, n)) AS t"
    )
    sql = _QUANTILES.format(key="0", table=source, where="true", grouping="1, 2, 3")
    conn = await asyncpg.connect(database)
    try:
        row = await conn.fetchrow(sql, list(counts), list(counts.values()))
    finally:
        await conn.close()
    assert row["n"] == sum(counts.values())
    assert middle(row["median" if q == 0.5 else "p90"]) == quantile(counts, q)
