"""Backup configuration: every rule refuses a bad value with the key and what is allowed."""

from __future__ import annotations

import dataclasses

import pytest

from stacks import config as cfg
from stacks.config import backup

pytestmark = pytest.mark.requirements("R15")


def _production(**changes: object) -> None:
    dataclasses.replace(cfg.production(), backup=dataclasses.replace(backup.PRODUCTION, **changes))


def _sandbox(**changes: object) -> None:
    dataclasses.replace(cfg.sandbox(), backup=dataclasses.replace(backup.SANDBOX, **changes))


def test_shipped_configs_are_valid() -> None:
    assert cfg.production().backup.daily_retention_days == 35
    assert cfg.production().backup.vault_lock_mode == "COMPLIANCE"
    assert cfg.sandbox().backup.vault_lock_mode == "GOVERNANCE"
    assert (cfg.production().backup.primary_max_age_hours, cfg.production().backup.copy_max_age_hours) == (26, 30)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"daily_schedule": "rate(1 day)"}, r"backup.daily_schedule: 'rate\(1 day\)' is not a six-field cron expression"),
        ({"restore_testing_schedule": "cron(0 5 * *)"}, r"backup.restore_testing_schedule: .* is not a six-field cron"),
        ({"continuous_retention_days": 36}, r"backup.continuous_retention_days: 36 is out of range; allowed: a number from 1 to 35"),
        ({"daily_retention_days": 30, "vault_lock_min_retention_days": 30}, r"backup.daily_retention_days: 30 is below 35 in production"),
        ({"monthly_retention_days": 35}, r"backup.monthly_retention_days: 35 is not longer than the daily retention \(35\)"),
        ({"vault_lock_mode": "GOVERNANCE", "vault_lock_changeable_for_days": None}, r"backup.vault_lock_mode: production has GOVERNANCE"),
        ({"vault_lock_mode": "LEGAL"}, r"backup.vault_lock_mode: 'LEGAL' is not allowed; allowed: COMPLIANCE, GOVERNANCE"),
        ({"vault_lock_changeable_for_days": None}, r"backup.vault_lock_changeable_for_days: COMPLIANCE mode needs a cooling-off period"),
        ({"vault_lock_changeable_for_days": 2}, r"backup.vault_lock_changeable_for_days: 2 is out of range; allowed: a number from 3"),
        ({"vault_lock_min_retention_days": 36}, r"backup.vault_lock_min_retention_days: 36 exceeds the shortest retention .*\(35\)"),
        ({"vault_lock_max_retention_days": 2000}, r"backup.vault_lock_max_retention_days: 2000 is below the longest retention .*\(2557\)"),
        ({"copy_max_age_hours": 20}, r"backup.copy_max_age_hours: 20 h is below the primary threshold \(26 h\)"),
        ({"primary_max_age_hours": 0}, r"backup.primary_max_age_hours: 0 is out of range"),
        ({"restore_testing_retain_hours": 0}, r"backup.restore_testing_retain_hours: 0 is out of range"),
    ],
)
def test_invalid_production_backup(changes: dict[str, object], message: str) -> None:
    with pytest.raises(cfg.ConfigError, match=message):
        _production(**changes)


def test_governance_lock_has_no_cooling_off_period() -> None:
    with pytest.raises(cfg.ConfigError, match=r"backup.vault_lock_changeable_for_days: a cooling-off period makes the lock COMPLIANCE"):
        _sandbox(vault_lock_changeable_for_days=3)
    _sandbox(daily_retention_days=3)  # sandbox may keep less than 35 days


def test_continuous_retention_matches_auroras_automated_backups() -> None:
    # AWS Backup's continuous rule takes over Aurora's automated backups and sets their retention.
    with pytest.raises(cfg.ConfigError, match=r"backup.continuous_retention_days: 7 differs from data.aurora_backup_retention_days \(1\)"):
        _sandbox(continuous_retention_days=7)
