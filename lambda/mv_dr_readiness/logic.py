"""Pure DR-readiness logic (R15): no AWS calls, fully testable.

For one protected resource, the newest usable snapshot recovery point in the primary vault must be
younger than ``primary_max_age`` and the newest usable copy of it in the DR vault younger than
``copy_max_age``. Continuous (point-in-time) recovery points are not counted: AWS Backup keeps one
per resource and updates it in place, so its creation date says nothing about freshness, and what
reaches the DR region is the daily snapshot copy anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# A recovery point that can be restored from. PARTIAL, EXPIRED, DELETING, STOPPED, CREATING cannot.
USABLE_STATUSES = frozenset({"COMPLETED", "AVAILABLE"})
CONTINUOUS_MARKER = ":recovery-point:continuous:"

METRIC_PRIMARY_AGE = "PrimaryRecoveryPointAgeHours"
METRIC_COPY_AGE = "DrCopyAgeHours"
METRIC_READY = "DrReady"
DIMENSION = "ResourceArn"


@dataclass(frozen=True)
class RecoveryPoint:
    arn: str
    vault_name: str
    created: datetime
    status: str

    @property
    def usable_snapshot(self) -> bool:
        return self.status in USABLE_STATUSES and CONTINUOUS_MARKER not in self.arn


@dataclass(frozen=True)
class Readiness:
    resource_arn: str
    primary_age_hours: float | None  # None: no usable recovery point at all
    copy_age_hours: float | None
    primary_fresh: bool
    copy_fresh: bool

    @property
    def ready(self) -> bool:
        return self.primary_fresh and self.copy_fresh

    @property
    def problems(self) -> list[str]:
        found = []
        if self.primary_age_hours is None:
            found.append("no recovery point in the primary vault")
        elif not self.primary_fresh:
            found.append(f"primary recovery point is {self.primary_age_hours:.1f} h old")
        if self.copy_age_hours is None:
            found.append("no copy in the DR vault")
        elif not self.copy_fresh:
            found.append(f"DR copy is {self.copy_age_hours:.1f} h old")
        return found


def newest(points: Iterable[RecoveryPoint], vault_name: str) -> RecoveryPoint | None:
    candidates = [p for p in points if p.vault_name == vault_name and p.usable_snapshot]
    return max(candidates, key=lambda p: p.created, default=None)


def _age_hours(point: RecoveryPoint | None, now: datetime) -> float | None:
    if point is None:
        return None
    return max((now - point.created) / timedelta(hours=1), 0.0)


def assess(
    resource_arn: str,
    *,
    primary_points: Iterable[RecoveryPoint],
    dr_points: Iterable[RecoveryPoint],
    primary_vault: str,
    dr_vault: str,
    now: datetime,
    primary_max_age: timedelta,
    copy_max_age: timedelta,
) -> Readiness:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    primary_age = _age_hours(newest(primary_points, primary_vault), now)
    copy_age = _age_hours(newest(dr_points, dr_vault), now)
    hours = timedelta(hours=1)
    return Readiness(
        resource_arn=resource_arn,
        primary_age_hours=primary_age,
        copy_age_hours=copy_age,
        primary_fresh=primary_age is not None and primary_age < primary_max_age / hours,
        copy_fresh=copy_age is not None and copy_age < copy_max_age / hours,
    )


def metric_data(results: Iterable[Readiness], timestamp: datetime) -> list[dict[str, object]]:
    """CloudWatch datums: readiness (1/0) per resource, and the ages where a point exists.

    A missing recovery point publishes no age (there is none) but always ``DrReady = 0``, which is
    what the per-resource alarm watches.
    """
    data: list[dict[str, object]] = []
    for r in results:
        dims = [{"Name": DIMENSION, "Value": r.resource_arn}]
        data.append({"MetricName": METRIC_READY, "Dimensions": dims, "Timestamp": timestamp, "Value": 1.0 if r.ready else 0.0, "Unit": "Count"})
        for name, age in ((METRIC_PRIMARY_AGE, r.primary_age_hours), (METRIC_COPY_AGE, r.copy_age_hours)):
            if age is not None:
                data.append({"MetricName": name, "Dimensions": dims, "Timestamp": timestamp, "Value": round(age, 3), "Unit": "None"})
    return data
