"""Invalid audit configuration fails with a message naming the key and what is allowed."""

from __future__ import annotations

import dataclasses
import re

import pytest

from stacks import config as cfg
from stacks.config.audit import (
    BASELINE_SWITCHES,
    HIPAA_RETENTION_DAYS,
    PRODUCTION,
    SANDBOX,
    AuditConfig,
)

pytestmark = pytest.mark.requirements("R12", "R14")


def _check(base: AuditConfig, is_production: bool, **changes: object) -> None:
    dataclasses.replace(base, **changes).validate(is_production)


def test_shipped_configs_are_valid_and_production_keeps_six_years() -> None:
    PRODUCTION.validate(True)
    SANDBOX.validate(False)
    assert (PRODUCTION.trail_lock_mode, PRODUCTION.trail_lock_days) == ("COMPLIANCE", 2190)
    assert HIPAA_RETENTION_DAYS == 2190
    assert PRODUCTION.trail_log_retention_days == 2192
    assert cfg.production().audit is PRODUCTION and cfg.sandbox().audit is SANDBOX


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"trail_lock_mode": "GOVERNANCE"}, r"audit.trail_lock_mode/trail_lock_days: production has GOVERNANCE for 2190 days; allowed: COMPLIANCE"),
        ({"trail_lock_days": 2189}, r"production has COMPLIANCE for 2189 days; allowed: COMPLIANCE for at least 2190 days \(HIPAA six-year"),
        ({"trail_log_retention_days": 180}, r"audit.trail_log_retention_days: 180 is below one year in production"),
        ({"quarantine_lock_mode": "GOVERNANCE"}, r"audit.quarantine_lock_mode: production quarantine must be COMPLIANCE"),
        ({"trail_archive_after_days": 3000}, r"audit.trail_archive_after_days: archiving after the lock ends saves nothing"),
    ],
)
def test_production_rules(changes: dict[str, object], message: str) -> None:
    with pytest.raises(cfg.ConfigError, match=message):
        _check(PRODUCTION, True, **changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"trail_lock_mode": "LEGAL"}, r"audit.trail_lock_mode: 'LEGAL' is not allowed; allowed: COMPLIANCE, GOVERNANCE"),
        ({"trail_lock_days": 0}, r"audit.trail_lock_days: 0 is out of range"),
        ({"trail_log_retention_days": 42}, r"audit.trail_log_retention_days: 42 days is not a CloudWatch Logs retention"),
        ({"trail_archive_after_days": 10}, r"audit.trail_archive_after_days: 10 is out of range; allowed: a number from 30"),
        ({"quarantine_lock_mode": "x"}, r"audit.quarantine_lock_mode: 'x' is not allowed"),
        ({"quarantine_lock_days": 0}, r"audit.quarantine_lock_days: 0 is out of range"),
        ({"guardduty_min_severity": 9.5}, r"audit.guardduty_min_severity: 9.5 is out of range; allowed: a number from 1.0 to 8.9"),
        ({"finding_memory_days": 0}, r"audit.finding_memory_days: 0 is out of range"),
        ({"security_email": "security"}, r"audit.security_email: 'security' is not an e-mail address"),
        ({"audit_manager_enabled": True}, r"audit.audit_manager_framework_id: Audit Manager is enabled without the HIPAA framework ID"),
        ({"audit_manager_framework_id": "HIPAA"}, r"audit.audit_manager_framework_id: 'HIPAA' is not a framework ID; allowed: a lower-case UUID"),
    ],
)
def test_any_environment_rules(changes: dict[str, object], message: str) -> None:
    with pytest.raises(cfg.ConfigError, match=message):
        _check(SANDBOX, False, **changes)


def test_environment_validates_its_audit_section() -> None:
    with pytest.raises(cfg.ConfigError, match=r"audit.trail_lock_mode/trail_lock_days"):
        dataclasses.replace(cfg.production(), audit=dataclasses.replace(PRODUCTION, trail_lock_days=30))


# ---- existing security baseline (issue 16) ---------------------------------------------------------


def test_baseline_switches_default_to_creating_everything() -> None:
    for config in (PRODUCTION, SANDBOX):
        assert (config.use_existing_config_recorder, config.use_existing_guardduty_detector, config.use_existing_macie_session) == (
            False,
            False,
            False,
        )


@pytest.mark.parametrize("switch", BASELINE_SWITCHES)
@pytest.mark.parametrize("value", [True, False])
def test_baseline_switches_accept_true_and_false(switch: str, value: bool) -> None:
    _check(PRODUCTION, True, **{switch: value})
    _check(SANDBOX, False, **{switch: value})
    environment = dataclasses.replace(cfg.sandbox(), audit=dataclasses.replace(SANDBOX, **{switch: value}))
    assert getattr(environment.audit, switch) is value


@pytest.mark.parametrize("switch", BASELINE_SWITCHES)
@pytest.mark.parametrize("value", [1, "true", None])
def test_baseline_switches_refuse_anything_but_a_bool(switch: str, value: object) -> None:
    with pytest.raises(cfg.ConfigError, match=rf"^audit\.{switch}: {re.escape(repr(value))} is not a switch; allowed: True or False$"):
        _check(SANDBOX, False, **{switch: value})
    with pytest.raises(cfg.ConfigError, match=rf"^audit\.{switch}: "):
        dataclasses.replace(cfg.production(), audit=dataclasses.replace(PRODUCTION, **{switch: value}))


def test_app_applies_the_context_switches_to_every_environment() -> None:
    """app.py: `-c existing_config_recorder=true` etc. set the switches; absent keys keep the config."""
    import aws_cdk as cdk

    import app

    given = cdk.App(context={"existing_config_recorder": "true", "existing_macie_session": "false", "existing_guardduty_detector": "TRUE"})
    for name in cfg.ENVIRONMENT_NAMES:
        audit = app._environment(given, name).audit
        assert (audit.use_existing_config_recorder, audit.use_existing_guardduty_detector, audit.use_existing_macie_session) == (True, True, False)
    untouched = app._environment(cdk.App(), "sandbox").audit
    assert untouched is SANDBOX
    with pytest.raises(cfg.ConfigError, match=r"^existing_guardduty_detector: 'maybe' is not allowed; allowed: true, false$"):
        app._environment(cdk.App(context={"existing_guardduty_detector": "maybe"}), "production")
