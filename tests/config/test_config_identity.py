"""Invalid identity configuration fails with one line naming the key and what is allowed (issue 17)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from stacks import config as cfg

pytestmark = pytest.mark.requirements("R3", "R9")


def _with_identity(base: cfg.EnvironmentConfig, **changes: Any) -> None:
    dataclasses.replace(base, identity=dataclasses.replace(base.identity, **changes))


def test_defaults() -> None:
    production, sandbox = cfg.production().identity, cfg.sandbox().identity
    assert (production.feature_plan, production.threat_protection, production.deletion_protection) == ("PLUS", "FULL_FUNCTION", True)
    assert (sandbox.feature_plan, sandbox.threat_protection, sandbox.deletion_protection) == ("PLUS", "FULL_FUNCTION", False)
    assert 15 <= production.access_token_minutes <= 60 and 15 <= production.id_token_minutes <= 60


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"feature_plan": "ESSENTIALS"}, r"^identity.feature_plan: 'ESSENTIALS' is not allowed; allowed: PLUS$"),
        ({"threat_protection": "OFF"}, r"^identity.threat_protection: 'OFF' is not allowed; allowed: FULL_FUNCTION, AUDIT_ONLY$"),
        (
            {"threat_protection": "AUDIT_ONLY"},
            r"^identity.threat_protection: AUDIT_ONLY only audits in production; allowed: FULL_FUNCTION in production$",
        ),
        ({"deletion_protection": False}, r"^identity.deletion_protection: off in production; allowed: True in production$"),
        ({"password_min_length": 8}, r"^identity.password_min_length: 8 is out of range; allowed: a number from 12 to 99$"),
        ({"temporary_password_days": 30}, r"^identity.temporary_password_days: 30 is out of range; allowed: a number from 1 to 7$"),
        ({"access_token_minutes": 5}, r"^identity.access_token_minutes: 5 is out of range; allowed: a number from 15 to 60$"),
        ({"id_token_minutes": 120}, r"^identity.id_token_minutes: 120 is out of range; allowed: a number from 15 to 60$"),
        ({"refresh_token_hours": 24 * 365}, r"^identity.refresh_token_hours: 8760 is out of range; allowed: a number from 1 to 720$"),
        ({"refresh_token_hours": 1, "access_token_minutes": 60}, r"^identity.refresh_token_hours: 1 h is not longer than the access token"),
        ({"auth_session_minutes": 30}, r"^identity.auth_session_minutes: 30 is out of range; allowed: a number from 3 to 15$"),
        ({"auth_rate_limit": 5}, r"^identity.auth_rate_limit: 5 is out of range; allowed: a number from 10 to 2000000000$"),
        ({"auth_evaluation_window_seconds": 30}, r"^identity.auth_evaluation_window_seconds: 30 is not allowed; allowed: 60, 120, 300, 600$"),
        ({"service_auth_rate_limit": 100}, r"^identity.service_auth_rate_limit: the in-VPC limit is not above the public per-IP limit"),
    ],
)
def test_invalid_identity(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(cfg.ConfigError, match=message):
        _with_identity(cfg.production(), **changes)


def test_sandbox_may_audit_and_drop_deletion_protection() -> None:
    _with_identity(cfg.sandbox(), threat_protection="AUDIT_ONLY", deletion_protection=False)


def test_one_line() -> None:
    with pytest.raises(cfg.ConfigError) as error:
        _with_identity(cfg.production(), threat_protection="NONE")
    assert "\n" not in str(error.value)
