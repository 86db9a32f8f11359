"""The nine CIS metric filters and their alarms, each asserted exactly (issue 19, "Tests that catch bugs").

The patterns are those of the CIS AWS Foundations Benchmark, "Monitoring" section, as AWS Security
Hub checks them (controls CloudWatch.1-14):
https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html
They are written out again here, not read from constructs/security_alarms.py: an inverted or
loosened pattern there (``!=`` for ``=``, a dropped ``&&`` clause) must fail this test. Each filter
is built in a bare Stack and followed to its alarm through the metric it publishes.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from constructs.security_alarms import SecurityEventAlarms

pytestmark = pytest.mark.requirements("R12", "R13")

NAMESPACE = "MediVault/Security"
PATTERNS = {
    "UnauthorizedApiCalls": '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
    "RootAccountUse": '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
    "ConsoleSignInWithoutMfa": (
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") '
        '&& ($.responseElements.ConsoleLogin = "Success") }'
    ),
    "IamPolicyChanges": (
        "{ ($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || "
        "($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || "
        "($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || "
        "($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || "
        "($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || "
        "($.eventName=DetachGroupPolicy) }"
    ),
    "CloudTrailChanges": (
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
        "($.eventName = StartLogging) || ($.eventName = StopLogging) || ($.eventName = PutEventSelectors) }"
    ),
    "KmsKeyDisableOrDeletion": "{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }",
    "S3BucketPolicyChanges": (
        "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || "
        "($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || "
        "($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) || "
        "($.eventName = DeleteBucketReplication)) }"
    ),
    "SecurityGroupChanges": (
        "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || "
        "($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || "
        "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }"
    ),
    "NetworkAclChanges": (
        "{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = DeleteNetworkAcl) || "
        "($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }"
    ),
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    stack = cdk.Stack(cdk.App(), "Alarms", env=cdk.Environment(account="123456789012", region="eu-central-1"))
    SecurityEventAlarms(stack, "SecurityAlarms", log_group=logs.LogGroup(stack, "Trail"), topic=sns.Topic(stack, "Security"))
    found: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return found


def _of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template.values() if r["Type"] == kind]


def test_exactly_the_nine_cis_patterns_each_counted_into_its_own_metric(template: dict[str, Any]) -> None:
    filters = _of_type(template, "AWS::Logs::MetricFilter")
    by_metric = {}
    for f in filters:
        [transformation] = f["MetricTransformations"]
        assert transformation["MetricNamespace"] == NAMESPACE
        assert (transformation["MetricValue"], transformation["DefaultValue"]) == ("1", 0), transformation
        assert f["LogGroupName"] == {"Ref": next(lid for lid, r in template.items() if r["Type"] == "AWS::Logs::LogGroup")}
        by_metric[transformation["MetricName"]] = f["FilterPattern"]
    assert len(filters) == len(PATTERNS)
    assert by_metric == PATTERNS


@pytest.mark.parametrize("metric", sorted(PATTERNS))
def test_each_metric_has_an_alarm_on_the_first_event_to_the_topic(template: dict[str, Any], metric: str) -> None:
    topic = {"Ref": next(lid for lid, r in template.items() if r["Type"] == "AWS::SNS::Topic")}
    [alarm] = [a for a in _of_type(template, "AWS::CloudWatch::Alarm") if a.get("MetricName") == metric]
    assert alarm["Namespace"] == NAMESPACE
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 300, 1)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [topic]
    assert alarm["InsufficientDataActions"] == [topic]


def test_one_alarm_per_metric_and_no_other(template: dict[str, Any]) -> None:
    assert sorted(a["MetricName"] for a in _of_type(template, "AWS::CloudWatch::Alarm")) == sorted(PATTERNS)
