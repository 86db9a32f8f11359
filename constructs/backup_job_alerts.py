"""AWS Backup job failures -> one rule -> an alert topic (R13, R15). The one place the failure
states are written (the findings notifier no longer routes Backup events: one alert per failure).

Which states are failures (AWS Backup API reference and devguide "Monitoring AWS Backup events using
Amazon EventBridge", https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html):
- Backup Job State Change, ``detail.state`` (BackupJobState: CREATED, PENDING, RUNNING, ABORTING,
  ABORTED, COMPLETED, FAILED, EXPIRED, PARTIAL): FAILED, ABORTED, EXPIRED (the job never started in
  its start window) and PARTIAL (some of its resources were not backed up) all leave a recovery
  point missing;
- Copy Job State Change, ``detail.state`` (CopyJobState: CREATED, RUNNING, COMPLETED, FAILED,
  PARTIAL): FAILED, PARTIAL - the DR copy is missing;
- Restore Job State Change reports ``detail.status``, not ``state`` ("Some events report status:
  COMPLETED whereas other events report state: COMPLETED", same page; RestoreJobStatus: PENDING,
  RUNNING, COMPLETED, ABORTED, FAILED): FAILED, ABORTED. A pattern on ``state`` alone never matches
  a failed restore (the restore-testing plan's restores included), so the rule matches either key.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct
from constructs.alert_topic import AlertTopic
from constructs.purpose_key import PurposeKey, ServicePrincipalUse

JOB_DETAIL_TYPES = ("Backup Job State Change", "Copy Job State Change", "Restore Job State Change")
FAILED_JOB_STATES = ("FAILED", "ABORTED", "EXPIRED", "PARTIAL")  # detail.state: backup and copy jobs
FAILED_RESTORE_STATUSES = ("FAILED", "ABORTED")  # detail.status: restore jobs


def failure_detail() -> dict[str, Any]:
    return {"$or": [{"state": list(FAILED_JOB_STATES)}, {"status": list(FAILED_RESTORE_STATUSES)}]}


class BackupJobFailures(events.Rule):
    """An ``events.Rule`` subclass (its logical ID stays where a plain rule of the same id was)."""

    def __init__(self, scope: Construct, construct_id: str, *, topic: AlertTopic) -> None:
        super().__init__(
            scope,
            construct_id,
            description="AWS Backup backup, copy and restore jobs that failed, aborted, expired or completed partially",
            event_pattern=events.EventPattern(source=["aws.backup"], detail_type=list(JOB_DETAIL_TYPES), detail=failure_detail()),
            targets=[topic.rule_target()],
        )


def notifications_key(scope: Construct, construct_id: str, *, purpose: str, alias: str, removal_policy: cdk.RemovalPolicy) -> kms.IKey:
    """The key of an alert topic that EventBridge rules and CloudWatch alarms publish to, and of the
    dead-letter queues EventBridge writes undeliverable events to.

    KMS requests that SNS/SQS make for EventBridge carry no aws:SourceAccount/aws:SourceArn
    (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services),
    so EventBridge is pinned by the encryption context SNS and SQS send: this account's topics and
    queues in this region. CloudWatch alarms do send both source keys.
    """
    stack = cdk.Stack.of(scope)

    def own(service: str) -> str:
        return f"arn:{stack.partition}:{service}:{stack.region}:{stack.account}"

    use = ("kms:GenerateDataKey*", "kms:Decrypt")
    return PurposeKey(
        scope,
        construct_id,
        purpose=purpose,
        alias=alias,
        via_services=["sns", "sqs"],
        service_principals=[
            ServicePrincipalUse(
                service="events.amazonaws.com",
                conditions={"ArnLike": {"kms:EncryptionContext:aws:sns:topicArn": f"{own('sns')}:*"}},
                actions=use,
                sid_suffix="Topics",
            ),
            ServicePrincipalUse(
                service="events.amazonaws.com",
                conditions={"ArnLike": {"kms:EncryptionContext:aws:sqs:arn": f"{own('sqs')}:*"}},
                actions=use,
                sid_suffix="DeadLetterQueues",
            ),
            ServicePrincipalUse(
                service="cloudwatch.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}, "ArnLike": {"aws:SourceArn": f"{own('cloudwatch')}:alarm:*"}},
                actions=use,
            ),
        ],
        removal_policy=removal_policy,
    ).key
