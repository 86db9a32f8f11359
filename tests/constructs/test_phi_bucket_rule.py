"""PhiBucketRule: the fixed-name custom Config rule keeps its id; only this account's Config invokes it."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from constructs.phi_bucket_rule import PhiBucketRule, PhiBucketRuleSettings

from tests.constructs.helpers import bare_stack, function_settings, lid, resources

pytestmark = pytest.mark.requirements("R7", "R14")


def _rule(stack: cdk.Stack) -> tuple[PhiBucketRule, Template]:
    rule = PhiBucketRule(
        stack,
        "PhiBucketRule",
        settings=PhiBucketRuleSettings(lock_mode="COMPLIANCE", min_retention_days=2557),
        function=function_settings(stack),
        data_key=kms.Key(stack, "DataKey"),
    )
    return rule, Template.from_stack(stack)


@pytest.mark.parametrize(
    ("account", "expected"),
    [(None, {"Ref": "AWS::AccountId"}), ("123456789012", "123456789012")],
    ids=["env-agnostic", "concrete"],
)
def test_config_invokes_from_this_account_only(account: str | None, expected: object) -> None:
    rule, template = _rule(bare_stack(account))
    permission = resources(template, "AWS::Lambda::Permission")[lid(rule.permission)]["Properties"]
    assert permission["Principal"] == "config.amazonaws.com"
    assert permission["SourceAccount"] == expected  # the real account token, not any value
    assert permission["FunctionName"] == {"Fn::GetAtt": [lid(rule.function), "Arn"]}


def test_rule_keeps_its_id_and_parameters_and_waits_for_the_permission() -> None:
    rule, template = _rule(bare_stack())
    assert lid(rule.rule) == "PhiBucketLockRule"  # fixed name: a new logical ID would fail the deploy
    config_rule = resources(template, "AWS::Config::ConfigRule")["PhiBucketLockRule"]
    props = config_rule["Properties"]
    assert props["ConfigRuleName"] == "medivault-phi-bucket-lock"
    assert props["InputParameters"] == {
        "tagKey": "data-class",
        "tagValue": "phi",
        "lockMode": "COMPLIANCE",
        "minRetentionDays": "2557",
        "kmsKeyArn": {"Fn::GetAtt": [lid(rule.node.scope.node.find_child("DataKey")), "Arn"]},  # type: ignore[union-attr]
    }
    assert {lid(rule.permission), lid(rule.evaluations)} <= set(config_rule["DependsOn"])


def test_invalid_lock_mode_fails_with_the_key() -> None:
    with pytest.raises(ValueError, match=r"PhiBucketRuleSettings\.lock_mode"):
        PhiBucketRuleSettings(lock_mode="LEGAL_HOLD", min_retention_days=1)
