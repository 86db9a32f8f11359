"""DR readiness at exactly its thresholds (issue 19, "Tests that catch bugs").

A recovery point is fresh while it is younger than the threshold: at exactly 26 h the primary
recovery point is stale, one second younger it is fresh; the same at 30 h for the DR copy. The
earlier tests probed 26.5 h and 30.5 h, which a ``<=`` or a threshold moved by under half an hour passes.
The deployed thresholds are asserted in tests/stacks/test_guards_readiness.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mv_dr_readiness.logic import RecoveryPoint, assess

pytestmark = pytest.mark.requirements("R15")

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
PRIMARY, DR = "primary", "dr"


def _assess(primary_age: timedelta, copy_age: timedelta):  # type: ignore[no-untyped-def]
    return assess(
        "arn:aws:rds:eu-central-1:210987654321:cluster:records",
        primary_points=[RecoveryPoint("arn:aws:backup:eu-central-1:210987654321:recovery-point:a", PRIMARY, NOW - primary_age, "COMPLETED")],
        dr_points=[RecoveryPoint("arn:aws:backup:eu-west-1:210987654321:recovery-point:b", DR, NOW - copy_age, "COMPLETED")],
        primary_vault=PRIMARY,
        dr_vault=DR,
        now=NOW,
        primary_max_age=timedelta(hours=26),
        copy_max_age=timedelta(hours=30),
    )


@pytest.mark.parametrize(
    ("age", "fresh"), [(timedelta(hours=26) - SECOND, True), (timedelta(hours=26), False), (timedelta(hours=26) + SECOND, False)]
)
def test_primary_threshold_26_hours(age: timedelta, fresh: bool) -> None:
    result = _assess(age, timedelta(hours=1))
    assert (result.primary_fresh, result.copy_fresh, result.ready) == (fresh, True, fresh)
    assert result.problems == ([] if fresh else [f"primary recovery point is {age / timedelta(hours=1):.1f} h old"])


@pytest.mark.parametrize(
    ("age", "fresh"), [(timedelta(hours=30) - SECOND, True), (timedelta(hours=30), False), (timedelta(hours=30) + SECOND, False)]
)
def test_copy_threshold_30_hours(age: timedelta, fresh: bool) -> None:
    result = _assess(timedelta(hours=1), age)
    assert (result.primary_fresh, result.copy_fresh, result.ready) == (True, fresh, fresh)
    assert result.copy_age_hours == pytest.approx(age / timedelta(hours=1))
