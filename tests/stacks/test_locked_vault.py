"""LockedVault's access policy: deletion denied to everyone, except (sandbox only) the teardown principals.

AWS Backup evaluates the vault access policy on DeleteRecoveryPoint; an explicit deny beats any allow
(https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault-access-policy.html), so without
the exemption no role could empty a sandbox vault and CloudFormation could not delete it.
"""

from __future__ import annotations

import dataclasses

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from constructs.locked_vault import LockedVault

from stacks import config as cfg


def _vault(**kwargs: object) -> dict[str, object]:
    stack = cdk.Stack(env=cdk.Environment(account="123456789012", region="eu-central-1"))
    settings = {"min_retention_days": 1, "max_retention_days": 60, "changeable_for_days": None, "removal_policy": cdk.RemovalPolicy.DESTROY}
    LockedVault(stack, "V", vault_name="medivault-test", key=kms.Key(stack, "K"), **{**settings, **kwargs})  # type: ignore[arg-type]
    [vault] = Template.from_stack(stack).find_resources("AWS::Backup::BackupVault").values()
    policy: dict[str, object] = vault["Properties"]["AccessPolicy"]
    return policy


def test_without_teardown_principals_deletion_is_denied_to_everyone() -> None:
    [statement] = _vault()["Statement"]  # type: ignore[misc]
    assert statement == {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
        "Resource": "*",
    }


def test_teardown_principals_are_the_only_exception() -> None:
    arns = ["arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*"]
    [statement] = _vault(teardown_principal_arns=arns)["Statement"]  # type: ignore[misc]
    assert statement["Effect"] == "Deny" and statement["Principal"] == {"AWS": "*"}
    assert statement["Action"] == ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"]
    assert statement["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": arns}}


def test_a_compliance_vault_never_gets_teardown_principals() -> None:
    with pytest.raises(ValueError, match="COMPLIANCE-mode vault cannot be torn down"):
        _vault(changeable_for_days=3, teardown_principal_arns=["arn:aws:iam::123456789012:role/x"])


def test_config_allows_teardown_principals_only_in_a_governance_sandbox() -> None:
    assert cfg.production().backup.teardown_principals == ()
    assert cfg.sandbox().backup.teardown_principals == ("role/aws-reserved/sso.amazonaws.com/*", "role/OrganizationAccountAccessRole")
    prod = cfg.production()
    with pytest.raises(cfg.ConfigError, match=r"^backup.teardown_principals: recovery points may only be deletable"):
        dataclasses.replace(prod, backup=dataclasses.replace(prod.backup, teardown_principals=("role/x",)))
    sandbox = cfg.sandbox()
    with pytest.raises(cfg.ConfigError, match=r"^backup.teardown_principals: 'user/bob' is not an IAM role path"):
        dataclasses.replace(sandbox, backup=dataclasses.replace(sandbox.backup, teardown_principals=("user/bob",)))
