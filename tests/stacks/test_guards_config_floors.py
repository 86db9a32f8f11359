"""Production floors and ranges probed at exactly the boundary (issue 19, "Tests that catch bugs").

Each floor is tested with the floor itself (accepted) and one below (refused), through the whole
environment config (``dataclasses.replace`` re-runs its validation), so a floor moved by one day,
a ``<`` turned into ``<=``, or a check dropped fails here:
- PHI Object Lock (R7): COMPLIANCE for at least 7 * 365 = 2555 days in production
  (stacks/config/data.py); the PHI bucket Config rule checks the same number.
- HIPAA six-year documentation rule, 45 CFR 164.316(b)(2)(i): 6 * 365 = 2190 days for the trail's
  Object Lock (stacks/config/audit.py) and every evidence bucket without a lock (stacks/config/evidence.py).
- DR readiness thresholds (R15): 26 h for the primary recovery point, 30 h for its DR copy; the copy
  threshold may equal, never undercut, the primary one (stacks/config/backup.py).
- The VPC CIDR is an RFC 1918 private range (RFC 1918 section 3: 10/8, 172.16/12, 192.168/16):
  172.16.0.0-172.31.255.255 is private, 172.32.0.0 is not.
"""

from __future__ import annotations

import dataclasses

import pytest

from stacks import config as cfg
from stacks.config.audit import HIPAA_RETENTION_DAYS
from stacks.config.errors import ConfigError, require_private_cidr

pytestmark = pytest.mark.requirements("R2", "R7", "R12", "R15")

ACCOUNT = "210987654321"
SEVEN_YEARS = 7 * 365
SIX_YEARS = 6 * 365


def _production(**sections: object) -> cfg.EnvironmentConfig:
    base = cfg.production(ACCOUNT)
    changed = {name: dataclasses.replace(getattr(base, name), **values) for name, values in sections.items()}  # type: ignore[arg-type]
    return dataclasses.replace(base, **changed)


def test_the_floors_are_the_documented_numbers() -> None:
    assert (SEVEN_YEARS, SIX_YEARS, HIPAA_RETENTION_DAYS) == (2555, 2190, 2190)
    production = cfg.production(ACCOUNT)
    assert (production.data.object_lock_mode, production.data.object_lock_days) == ("COMPLIANCE", SEVEN_YEARS)
    assert (production.audit.trail_lock_mode, production.audit.trail_lock_days) == ("COMPLIANCE", SIX_YEARS)
    assert (production.audit.quarantine_lock_mode, production.audit.quarantine_lock_days) == ("COMPLIANCE", SEVEN_YEARS)
    assert production.evidence.phi_access_log_days == SEVEN_YEARS + 2
    assert (production.backup.primary_max_age_hours, production.backup.copy_max_age_hours) == (26, 30)
    assert production.backup.monthly_retention_days == 2557


def test_phi_object_lock_floor_is_seven_years_in_production() -> None:
    assert _production(data={"object_lock_days": SEVEN_YEARS}).data.object_lock_days == SEVEN_YEARS
    with pytest.raises(ConfigError, match=r"^data\.object_lock_mode/object_lock_days: production has COMPLIANCE for 2554 days"):
        _production(data={"object_lock_days": SEVEN_YEARS - 1})
    with pytest.raises(ConfigError, match=r"^data\.object_lock_mode/object_lock_days: production has GOVERNANCE"):
        _production(data={"object_lock_mode": "GOVERNANCE"})


def test_sandbox_may_lock_for_one_day() -> None:
    sandbox = cfg.sandbox("123456789012")
    assert dataclasses.replace(sandbox, data=dataclasses.replace(sandbox.data, object_lock_days=1)).data.object_lock_days == 1


def test_trail_lock_floor_is_six_years_in_production() -> None:
    assert _production(audit={"trail_lock_days": SIX_YEARS}).audit.trail_lock_days == SIX_YEARS
    with pytest.raises(ConfigError, match=r"^audit\.trail_lock_mode/trail_lock_days: production has COMPLIANCE for 2189 days"):
        _production(audit={"trail_lock_days": SIX_YEARS - 1})
    with pytest.raises(ConfigError, match=r"^audit\.quarantine_lock_mode: "):
        _production(audit={"quarantine_lock_mode": "GOVERNANCE"})


@pytest.mark.parametrize("key", ["phi_access_log_days", "evidence_access_log_days", "config_history_days", "alb_log_days", "cloudfront_log_days"])
def test_evidence_retention_floor_is_six_years_in_production(key: str) -> None:
    assert getattr(_production(evidence={key: SIX_YEARS}).evidence, key) == SIX_YEARS
    with pytest.raises(ConfigError, match=rf"^evidence\.{key}: 2189 days in production; allowed: at least 2190"):
        _production(evidence={key: SIX_YEARS - 1})


@pytest.mark.parametrize(("primary", "copy", "ok"), [(26, 26, True), (26, 25, False), (30, 30, True), (31, 30, False), (1, 168, True)])
def test_copy_threshold_never_below_the_primary_one(primary: int, copy: int, ok: bool) -> None:
    settings = {"backup": {"primary_max_age_hours": primary, "copy_max_age_hours": copy}}
    if ok:
        assert _production(**settings).backup.copy_max_age_hours == copy
    else:
        with pytest.raises(ConfigError, match=r"^backup\.copy_max_age_hours: "):
            _production(**settings)


@pytest.mark.parametrize("key", ["primary_max_age_hours", "copy_max_age_hours"])
@pytest.mark.parametrize(("hours", "ok"), [(0, False), (1, True), (168, True), (169, False)])
def test_readiness_thresholds_range(key: str, hours: int, ok: bool) -> None:
    other = "copy_max_age_hours" if key == "primary_max_age_hours" else "primary_max_age_hours"
    settings = {"backup": {key: hours, other: hours if 1 <= hours <= 168 else 26}}
    if ok:
        assert getattr(_production(**settings).backup, key) == hours
    else:
        with pytest.raises(ConfigError, match=rf"^backup\.{key}: {hours} is out of range"):
            _production(**settings)


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "10.255.240.0/20", "172.16.0.0/16", "172.31.0.0/16", "172.31.240.0/20", "192.168.0.0/16"])
def test_private_vpc_cidrs_are_accepted(cidr: str) -> None:
    assert _production(network={"vpc_cidr": cidr}).network.vpc_cidr == cidr


@pytest.mark.parametrize("cidr", ["172.32.0.0/16", "172.15.0.0/16", "172.0.0.0/16", "11.0.0.0/16", "192.169.0.0/16", "100.64.0.0/16", "9.255.0.0/16"])
def test_public_vpc_cidrs_are_refused(cidr: str) -> None:
    with pytest.raises(ConfigError, match=rf"^network\.vpc_cidr: {cidr} is not a private range"):
        _production(network={"vpc_cidr": cidr})


def test_the_whole_172_16_block_is_private_and_its_neighbours_are_not() -> None:
    assert str(require_private_cidr("k", "172.16.0.0/12", 8, 24)) == "172.16.0.0/12"
    for public in ("172.0.0.0/11", "172.32.0.0/12", "172.0.0.0/10"):
        with pytest.raises(ConfigError, match="is not a private range"):
            require_private_cidr("k", public, 8, 24)


@pytest.mark.parametrize(("cidr", "ok"), [("10.20.0.0/16", True), ("10.20.0.0/20", True), ("10.0.0.0/15", False), ("10.20.0.0/21", False)])
def test_vpc_prefix_range_is_16_to_20(cidr: str, ok: bool) -> None:
    if ok:
        assert _production(network={"vpc_cidr": cidr}).network.vpc_cidr == cidr
    else:
        with pytest.raises(ConfigError, match=r"^network\.vpc_cidr: prefix /\d+ is out of range"):
            _production(network={"vpc_cidr": cidr})
