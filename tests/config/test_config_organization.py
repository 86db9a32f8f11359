"""Invalid organisation configuration fails with a message naming the key and what is allowed."""

from __future__ import annotations

import dataclasses

import pytest

from stacks import config as cfg
from stacks.config.organization import (
    PLACEHOLDER_MANAGEMENT_ACCOUNT,
    AssignmentConfig,
    OrganizationalUnitConfig,
    OrganizationConfig,
    iso_duration_minutes,
    organization,
)

pytestmark = pytest.mark.requirements("R3", "R1")


def _with(**changes: object) -> OrganizationConfig:
    return dataclasses.replace(organization(), **changes)


def _with_ou(key: str, **changes: object) -> OrganizationConfig:
    base = organization()
    return dataclasses.replace(
        base, organizational_units={**base.organizational_units, key: dataclasses.replace(base.organizational_units[key], **changes)}
    )


def test_shipped_config_is_valid_and_uses_the_environment_placeholders() -> None:
    config = organization()
    assert config.management_account == PLACEHOLDER_MANAGEMENT_ACCOUNT == "333333333333"
    assert config.identity_center_region == "eu-central-1"
    assert config.organizational_units["production"].account_ids == (cfg.PLACEHOLDER_ACCOUNTS["production"],)
    assert config.organizational_units["sandbox"].account_ids == (cfg.PLACEHOLDER_ACCOUNTS["sandbox"],)
    assert config.session_durations["phi_data_access"] == "PT1H"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.root_id = "r-abcd"  # type: ignore[misc]


def test_given_environment_accounts_replace_the_placeholders() -> None:
    config = organization("123456789012", sandbox_account="111122223333", production_account="444455556666")
    assert config.accounts_of(("production", "sandbox")) == ["444455556666", "111122223333"]


def test_placeholders_are_listed_until_configured() -> None:
    left = organization().placeholders()
    assert "organization.management_account" in left
    assert "organization.instance_arn" in left
    assert "organization.root_id" in left
    assert "organization.organizational_units.security.account_ids" in left
    assert "organization.assignments[0].group_id" in left


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"management_account": "1234"}, r"organization.management_account: '1234' is not an AWS account ID"),
        (
            {"identity_center_region": "us-east-1"},
            r"organization.identity_center_region: 'us-east-1' is not allowed; allowed: eu-central-1, eu-west-1",
        ),
        (
            {"instance_arn": "arn:aws:sso:::instance/x"},
            r"organization.instance_arn: .* is not an Identity Center instance ARN; allowed: arn:aws:sso:::instance/ssoins-",
        ),
        ({"root_id": "root"}, r"organization.root_id: 'root' is not an organization root ID; allowed: r- followed by"),
        ({"break_glass_role_path": "break-glass"}, r"organization.break_glass_role_path: 'break-glass' is not an IAM path"),
        ({"break_glass_role_name": "break glass"}, r"organization.break_glass_role_name: 'break glass' is not an IAM role name"),
        ({"phi_access_role_path": "/"}, r"organization.phi_access_role_path: '/' is not a dedicated IAM path"),
        ({"phi_bucket_name_patterns": ("*",)}, r"organization.phi_bucket_name_patterns: '\*' is not a bucket-name pattern"),
        ({"phi_bucket_name_patterns": ()}, r"organization.phi_bucket_name_patterns: no pattern given"),
    ],
)
def test_invalid_organization_values(changes: dict[str, object], message: str) -> None:
    with pytest.raises(cfg.ConfigError, match=message):
        _with(**changes)


def test_organizational_units() -> None:
    base = organization()
    with pytest.raises(
        cfg.ConfigError, match=r"organization.organizational_units: \['production', 'security'\] are not the required OUs; allowed: security"
    ):
        _with(organizational_units={k: v for k, v in base.organizational_units.items() if k != "sandbox"})
    with pytest.raises(cfg.ConfigError, match=r"organization.organizational_units: OU names .* are not unique"):
        _with_ou("sandbox", name="Security")
    with pytest.raises(cfg.ConfigError, match=r"organization.organizational_units.sandbox.name: 'Sand/box' is not an OU name"):
        _with_ou("sandbox", name="Sand/box")
    with pytest.raises(cfg.ConfigError, match=r"organization.organizational_units.sandbox.account_ids: no account given"):
        _with_ou("sandbox", account_ids=())
    with pytest.raises(cfg.ConfigError, match=r"organization.organizational_units.sandbox.account_ids: '42' is not an AWS account ID"):
        _with_ou("sandbox", account_ids=("42",))
    with pytest.raises(cfg.ConfigError, match=r"sandbox.account_ids: 333333333333 is the management account; allowed: member accounts only"):
        _with_ou("sandbox", account_ids=(PLACEHOLDER_MANAGEMENT_ACCOUNT,))
    with pytest.raises(cfg.ConfigError, match=r"sandbox.account_ids: 222222222222 is also in OU production; allowed: each account in one OU"):
        _with_ou("sandbox", account_ids=("222222222222",))


def test_scp_targets() -> None:
    base = organization().scp_targets
    with pytest.raises(cfg.ConfigError, match=r"organization.scp_targets: no target for \['protect_phi_storage'\]"):
        _with(scp_targets={k: v for k, v in base.items() if k != "protect_phi_storage"})
    with pytest.raises(cfg.ConfigError, match=r"organization.scp_targets: 'deny_everything' is not allowed; allowed: deny_leaving_organization"):
        _with(scp_targets={**base, "deny_everything": ("root",)})
    with pytest.raises(cfg.ConfigError, match=r"organization.scp_targets.protect_phi_storage: 'staging' is not allowed; allowed: root, security"):
        _with(scp_targets={**base, "protect_phi_storage": ("staging",)})
    with pytest.raises(cfg.ConfigError, match=r"organization.scp_targets.protect_phi_storage: attached nowhere"):
        _with(scp_targets={**base, "protect_phi_storage": ()})
    with pytest.raises(cfg.ConfigError, match=r"organization.scp_targets: 5 SCPs attached to root; allowed: at most 4 per root/OU"):
        _with(scp_targets={**base, "protect_phi_storage": ("root",)})


def test_session_durations() -> None:
    base = organization().session_durations
    with pytest.raises(
        cfg.ConfigError, match=r"organization.session_durations.developer: '4 hours' is not an ISO-8601 duration; allowed: PT<hours>H"
    ):
        _with(session_durations={**base, "developer": "4 hours"})
    with pytest.raises(cfg.ConfigError, match=r"organization.session_durations.developer: PT13H is out of range; allowed: PT1H to PT12H"):
        _with(session_durations={**base, "developer": "PT13H"})
    with pytest.raises(cfg.ConfigError, match=r"organization.session_durations.read_only: PT30M is out of range"):
        _with(session_durations={**base, "read_only": "PT30M"})
    with pytest.raises(cfg.ConfigError, match=r"organization.session_durations.phi_data_access: PT2H is too long for phi_data_access; allowed: PT1H"):
        _with(session_durations={**base, "phi_data_access": "PT2H"})
    with pytest.raises(cfg.ConfigError, match=r"organization.session_durations.break_glass_admin: PT1H30M is too long"):
        _with(session_durations={**base, "break_glass_admin": "PT1H30M"})
    with pytest.raises(cfg.ConfigError, match=r"organization.session_durations: .* do not name every permission set"):
        _with(session_durations={k: v for k, v in base.items() if k != "developer"})
    assert iso_duration_minutes("k", "PT1H30M") == 90
    assert iso_duration_minutes("k", "PT12H") == 720
    with pytest.raises(cfg.ConfigError, match="is not an ISO-8601 duration"):
        iso_duration_minutes("k", "PT")


def test_assignments() -> None:
    good = AssignmentConfig(permission_set="read_only", group_id="906745e3-1234-4321-aaaa-000000000001", organizational_units=("sandbox",))
    with pytest.raises(cfg.ConfigError, match=r"organization.assignments: no assignment given"):
        _with(assignments=())
    with pytest.raises(cfg.ConfigError, match=r"organization.assignments\[0\].permission_set: 'admin' is not allowed; allowed: read_only, developer"):
        _with(assignments=(dataclasses.replace(good, permission_set="admin"),))
    with pytest.raises(cfg.ConfigError, match=r"organization.assignments\[0\].group_id: 'developers' is not an identity store group ID"):
        _with(assignments=(dataclasses.replace(good, group_id="developers"),))
    with pytest.raises(cfg.ConfigError, match=r"organization.assignments\[1\].organizational_units: no OU given"):
        _with(assignments=(good, dataclasses.replace(good, organizational_units=())))
    with pytest.raises(cfg.ConfigError, match=r"organization.assignments\[0\].organizational_units: 'staging' is not allowed"):
        _with(assignments=(dataclasses.replace(good, organizational_units=("staging",)),))
    assert _with(assignments=(good,)).assignments == (good,)
    assert isinstance(organization().organizational_units["security"], OrganizationalUnitConfig)


def test_delivery_role_path_must_be_a_dedicated_path() -> None:
    # The region SCP exempts roles under this path in us-east-1: the root path would exempt every role.
    with pytest.raises(cfg.ConfigError, match=r"^organization.delivery_role_path: '/' is not a dedicated IAM path"):
        _with(delivery_role_path="/")
    with pytest.raises(cfg.ConfigError, match=r"^organization.delivery_role_path: 'delivery' is not a dedicated IAM path"):
        _with(delivery_role_path="delivery")
