"""Data-tier configuration rules (stacks/config/data.py)."""

from __future__ import annotations

import dataclasses

import pytest

from stacks import config as cfg
from stacks.config import data

pytestmark = pytest.mark.requirements("R6", "R7", "R8", "R11")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"aurora_engine_version": "15.4"}, r"data.aurora_engine_version: '15.4' is not supported; allowed: 16.x or 17.x"),
        ({"aurora_engine_version": "17"}, r"data.aurora_engine_version: '17' is not supported"),
        ({"aurora_min_acu": -1}, r"data.aurora_min_acu: -1 is out of range"),
        ({"aurora_min_acu": 0.25, "aurora_auto_pause_minutes": None}, r"data.aurora_min_acu: 0.25 is not a multiple of 0.5"),
        ({"aurora_min_acu": 0, "aurora_auto_pause_minutes": None}, r"data.aurora_min_acu/aurora_auto_pause_minutes: min 0 ACU with auto-pause None"),
        ({"aurora_min_acu": 1, "aurora_auto_pause_minutes": 10}, r"min 1 ACU with auto-pause 10"),
        ({"aurora_auto_pause_minutes": 2}, r"data.aurora_auto_pause_minutes: 2 is out of range; allowed: a number from 5 to 1440"),
        ({"aurora_max_acu": 300}, r"data.aurora_max_acu: 300 is out of range"),
        ({"aurora_max_acu": 2.3}, r"data.aurora_max_acu: 2.3 is not a multiple of 0.5"),
        ({"aurora_min_acu": 4, "aurora_max_acu": 2, "aurora_auto_pause_minutes": None}, r"data.aurora_max_acu: 2 is below aurora_min_acu 4"),
        ({"aurora_backup_retention_days": 36}, r"data.aurora_backup_retention_days: 36 is out of range"),
        ({"database_insights_mode": "FULL"}, r"data.database_insights_mode: 'FULL' is not allowed; allowed: STANDARD, ADVANCED"),
        ({"aurora_monitoring_interval_seconds": 20}, r"data.aurora_monitoring_interval_seconds: 20 is not allowed"),
        ({"secret_rotation_days": 31}, r"data.secret_rotation_days: 31 is out of range; allowed: a number from 1 to 30"),
        ({"cache_engine": "memcached"}, r"data.cache_engine: 'memcached' is not allowed; allowed: valkey, redis"),
        ({"cache_node_type": "r7g.large"}, r"data.cache_node_type: 'r7g.large' is not a node type"),
        ({"cache_replicas": 6}, r"data.cache_replicas: 6 is out of range"),
        ({"cache_snapshot_retention_days": 7}, r"data.cache_snapshot_retention_days: 7 is out of range; allowed: a number from 15 to 35"),
        ({"macie_schedule_day": "FUNDAY"}, r"data.macie_schedule_day: 'FUNDAY' is not allowed"),
    ],
)
def test_invalid_data_settings(changes: dict[str, object], message: str) -> None:
    with pytest.raises(cfg.ConfigError, match=message):
        dataclasses.replace(data.SANDBOX, **changes).validate(is_production=False)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"aurora_backup_retention_days": 7}, r"data.aurora_backup_retention_days: 7 days in production; allowed: 35 in production"),
        ({"cache_replicas": 1}, r"data.cache_replicas: 1 replicas in production; allowed: 2 or more"),
        ({"aurora_min_acu": 0, "aurora_auto_pause_minutes": 10}, r"data.aurora_min_acu: 0 in production; allowed: 0.5 or more"),
    ],
)
def test_production_only_rules(changes: dict[str, object], message: str) -> None:
    relaxed = dataclasses.replace(data.PRODUCTION, **changes)
    relaxed.validate(is_production=False)  # fine for a sandbox
    with pytest.raises(cfg.ConfigError, match=message):
        dataclasses.replace(cfg.production(), data=relaxed)


def test_shipped_data_configs() -> None:
    production, sandbox = cfg.production().data, cfg.sandbox().data
    assert production.aurora_backup_retention_days == 35 and production.cache_replicas == 2
    assert sandbox.cache_replicas == 0 and sandbox.aurora_max_acu < production.aurora_max_acu
    assert production.secret_rotation_days == 30
    assert production.aurora_engine_version.split(".")[0] in data.AURORA_MAJOR_VERSIONS
