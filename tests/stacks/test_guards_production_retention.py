"""Production keeps its keys and flow logs (issue 19, "Tests that catch bugs"): exact values.

- KMS: a key scheduled for deletion can be recovered only during its waiting period (7-30 days,
  AWS KMS Developer Guide, "Deleting AWS KMS keys",
  https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html). Every production key
  is retained by CloudFormation and, should someone schedule its deletion anyway, waits the
  maximum 30 days (a 7-day window would leave a week to notice before PHI becomes unreadable).
  Sandbox keys are destroyed with the stack after 7 days (cheap teardown).
- VPC flow logs are network evidence (R12): in production their log group is retained when the
  stack is deleted or the group replaced (DeletionPolicy / UpdateReplacePolicy, CloudFormation
  User Guide, "DeletionPolicy attribute",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html),
  encrypted under the logs key, kept two years (731 days).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.stacks.guard_stage import resources, templates

pytestmark = pytest.mark.requirements("R6", "R12")

EXPECTED = {"production": (30, "Retain"), "sandbox": (7, "Delete")}


def _keys(environment: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(stack, lid): key for stack, t in templates(environment).items() for lid, key in resources(t, "AWS::KMS::Key").items()}


@pytest.mark.parametrize("environment", ["production", "sandbox"])
def test_every_key_s_deletion_window_and_removal_policy(environment: str) -> None:
    window, policy = EXPECTED[environment]
    keys = _keys(environment)
    assert len(keys) == 9
    for where, key in keys.items():
        assert key["Properties"]["PendingWindowInDays"] == window, where
        assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == (policy, policy), where
        assert key["Properties"]["EnableKeyRotation"] is True, where


def _flow_log_group(environment: str) -> dict[str, Any]:
    network = templates(environment)["Network"]
    [flow_log] = resources(network, "AWS::EC2::FlowLog").values()
    assert (flow_log["Properties"]["ResourceType"], flow_log["Properties"]["TrafficType"]) == ("VPC", "ALL")
    group: dict[str, Any] = network["Resources"][flow_log["Properties"]["LogGroupName"]["Ref"]]
    return group


def _logs_key_reference(environment: str, value: dict[str, Any]) -> Any:
    """The Keys stack's output a weak cross-stack reference (Fn::GetStackOutput) reads."""
    output = value["Fn::GetStackOutput"]
    assert output["StackName"] == f"{environment.capitalize()}-Keys"
    return templates(environment)["Keys"]["Outputs"][output["OutputName"]]["Value"]


def test_production_flow_logs_are_retained_encrypted_two_years() -> None:
    group = _flow_log_group("production")
    assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert group["Properties"]["RetentionInDays"] == 731
    assert _logs_key_reference("production", group["Properties"]["KmsKeyId"]) == {"Fn::GetAtt": ["LogsKeyFE4C4A83", "Arn"]}


def test_sandbox_flow_logs_go_with_the_stack() -> None:
    group = _flow_log_group("sandbox")
    assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == ("Delete", "Delete")
    assert group["Properties"]["RetentionInDays"] == 30
    assert _logs_key_reference("sandbox", group["Properties"]["KmsKeyId"]) == {"Fn::GetAtt": ["LogsKeyFE4C4A83", "Arn"]}
