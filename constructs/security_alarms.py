"""Metric filters and alarms on a CloudTrail log group for the well-known security events.

The patterns are those of the CIS AWS Foundations Benchmark (section "Monitoring"), which
AWS Security Hub checks as CloudWatch.1-14. Each filter counts matching events into the
``MediVault/Security`` namespace; each alarm fires on the first one and notifies the topic on
ALARM, OK and INSUFFICIENT_DATA (the one alarm-action convention, ``constructs/alert_topic.notify``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct
from constructs.alert_topic import notify

NAMESPACE = "MediVault/Security"


@dataclass(frozen=True)
class SecurityEvent:
    name: str
    description: str
    pattern: str


SECURITY_EVENTS: tuple[SecurityEvent, ...] = (
    SecurityEvent(
        "UnauthorizedApiCalls",
        "API calls refused as unauthorized (probing or a broken role)",
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
    ),
    SecurityEvent(
        "RootAccountUse",
        "the root user was used",
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
    ),
    SecurityEvent(
        "ConsoleSignInWithoutMfa",
        "a console sign-in without MFA",
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") '
        '&& ($.responseElements.ConsoleLogin = "Success") }',
    ),
    SecurityEvent(
        "IamPolicyChanges",
        "an IAM policy was created, changed, attached or detached",
        "{ ($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || "
        "($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || "
        "($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || "
        "($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || "
        "($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || "
        "($.eventName=DetachGroupPolicy) }",
    ),
    SecurityEvent(
        "CloudTrailChanges",
        "a trail was created, changed, stopped or deleted",
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
        "($.eventName = StartLogging) || ($.eventName = StopLogging) || ($.eventName = PutEventSelectors) }",
    ),
    SecurityEvent(
        "KmsKeyDisableOrDeletion",
        "a customer-managed KMS key was disabled or scheduled for deletion",
        "{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }",
    ),
    SecurityEvent(
        "S3BucketPolicyChanges",
        "an S3 bucket policy, ACL, CORS, lifecycle or replication configuration changed",
        "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || "
        "($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || "
        "($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) || "
        "($.eventName = DeleteBucketReplication)) }",
    ),
    SecurityEvent(
        "SecurityGroupChanges",
        "a security group was created, changed or deleted",
        "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || "
        "($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || "
        "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }",
    ),
    SecurityEvent(
        "NetworkAclChanges",
        "a network ACL or one of its entries was created, changed or deleted",
        "{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = DeleteNetworkAcl) || "
        "($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }",
    ),
)


class SecurityEventAlarms(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, log_group: logs.ILogGroup, topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for event in SECURITY_EVENTS:
            metric_filter = logs.MetricFilter(
                self,
                f"{event.name}Filter",
                log_group=log_group,
                filter_pattern=logs.FilterPattern.literal(event.pattern),
                metric_namespace=NAMESPACE,
                metric_name=event.name,
                metric_value="1",
                default_value=0,
            )
            alarm = cloudwatch.Alarm(
                self,
                f"{event.name}Alarm",
                alarm_description=f"MediVault security: {event.description} (CloudTrail)",
                metric=metric_filter.metric(statistic="Sum", period=Duration.minutes(5)),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            notify(alarm, topic)
            self.alarms[event.name] = alarm
