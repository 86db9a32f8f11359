"""The audit trail (R12): the audit key's CloudTrail statements, the trail, its log group and the
security-event alarms on it.

``AuditTrail`` is a builder, not a construct node: it creates its resources directly in the scope it
is given (the Audit stack), under the ids they have always had. The trail has a fixed name
(``medivault-<env>``): a new logical ID would make CloudFormation create a second trail of the same
name before deleting the first, and fail; the log group is stateful. A construct boundary would
move both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct
from constructs.evidence_bucket import allow_service_delivery
from constructs.log_retention import retention
from constructs.managed_policy_role import ManagedPolicyRole
from constructs.purpose_key import PurposeKey, ServicePrincipalUse
from constructs.security_alarms import SecurityEventAlarms
from constructs.traceability import trace


def trail_arn(scope: Construct, trail_name: str) -> str:
    stack = cdk.Stack.of(scope)
    return f"arn:{stack.partition}:cloudtrail:{stack.region}:{stack.account}:trail/{trail_name}"


def audit_key(scope: Construct, construct_id: str, *, alias: str, trail_name: str, removal_policy: cdk.RemovalPolicy) -> kms.IKey:
    """The audit tier's key: CloudTrail, the security topic, Config delivery, the findings table and queues.

    CloudTrail guide, "Configure AWS KMS key policies for CloudTrail": GenerateDataKey* under the
    trail's encryption context; DescribeKey in a statement of its own (it carries no encryption
    context); and, because the trail bucket uses an S3 Bucket Key, kms:Decrypt for creating or
    updating the trail. Each is pinned to this trail with aws:SourceArn, as the guide recommends.
    """
    stack = cdk.Stack.of(scope)
    arn = trail_arn(scope, trail_name)
    trail_source: dict[str, dict[str, object]] = {"StringEquals": {"aws:SourceArn": arn}}
    key = PurposeKey(
        scope,
        construct_id,
        purpose="audit",
        alias=alias,
        via_services=["s3", "sns", "dynamodb", "sqs"],
        service_principals=[
            ServicePrincipalUse(
                service="cloudtrail.amazonaws.com",
                actions=("kms:GenerateDataKey*",),
                conditions={
                    **trail_source,
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{stack.partition}:cloudtrail:*:{stack.account}:trail/*"},
                },
            ),
            ServicePrincipalUse(
                service="config.amazonaws.com",
                actions=("kms:Decrypt", "kms:GenerateDataKey"),
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            # EventBridge sends undeliverable findings to the functions' SQS dead-letter queues, and
            # CloudWatch alarms publish to the security topic. The SNS guide says aws:SourceAccount /
            # aws:SourceArn are not supported in a key policy for EventBridge-to-encrypted targets, so
            # both are pinned by the encryption context SQS and SNS themselves put on every request
            # (the queue's or topic's ARN): only this account's queues / topics in this region.
            ServicePrincipalUse(
                service="events.amazonaws.com",
                actions=("kms:Decrypt", "kms:GenerateDataKey"),
                conditions={"StringLike": {"kms:EncryptionContext:aws:sqs:arn": f"arn:{stack.partition}:sqs:{stack.region}:{stack.account}:*"}},
            ),
            ServicePrincipalUse(
                service="cloudwatch.amazonaws.com",
                actions=("kms:Decrypt", "kms:GenerateDataKey*"),
                conditions={"StringLike": {"kms:EncryptionContext:aws:sns:topicArn": f"arn:{stack.partition}:sns:{stack.region}:{stack.account}:*"}},
            ),
        ],
        removal_policy=removal_policy,
    ).key
    cloudtrail_principal = iam.ServicePrincipal("cloudtrail.amazonaws.com")
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudTrailDescribesKey",
            principals=[cloudtrail_principal],
            actions=["kms:DescribeKey"],
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceArn": arn, "aws:SourceAccount": stack.account}},
        )
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudTrailDecryptsForBucketKey",
            principals=[cloudtrail_principal],
            actions=["kms:Decrypt"],
            resources=["*"],
            conditions=trail_source,
        )
    )
    return key


@dataclass(frozen=True, kw_only=True)
class AuditTrailSettings:
    trail_name: str
    log_retention_days: int  # the CloudWatch Logs copy (metric filters, queries); S3 is the record of proof


class AuditTrail:
    """A multi-region, validated, KMS-encrypted trail with management events and S3 data events on
    ``data_event_buckets``, copied to an encrypted log group whose security events page ``topic``."""

    def __init__(
        self,
        scope: Construct,
        *,
        settings: AuditTrailSettings,
        bucket: s3.Bucket,
        key: kms.IKey,
        logs_key: kms.IKey,
        data_event_buckets: Sequence[s3.IBucket],
        topic: sns.ITopic,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        if not data_event_buckets:
            raise ValueError("AuditTrail: data_event_buckets is empty; the trail must record data events on the PHI buckets (R12)")
        self.name = settings.trail_name
        self.arn = trail_arn(scope, settings.trail_name)
        self.log_group = logs.LogGroup(
            scope, "TrailLogs", encryption_key=logs_key, retention=retention(settings.log_retention_days), removal_policy=removal_policy
        )
        role = ManagedPolicyRole(
            scope, "TrailLogsRole", assumed_by=iam.ServicePrincipal("cloudtrail.amazonaws.com"), description="CloudTrail: deliver to its log group"
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[f"{self.log_group.log_group_arn}"])
        )
        allow_service_delivery(bucket, "cloudtrail.amazonaws.com", {"aws:SourceArn": self.arn}, prefix="AWSLogs")
        self.trail = cloudtrail.CfnTrail(
            scope,
            "Trail",
            trail_name=settings.trail_name,
            is_logging=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            s3_bucket_name=bucket.bucket_name,
            kms_key_id=key.key_arn,
            cloud_watch_logs_log_group_arn=self.log_group.log_group_arn,
            cloud_watch_logs_role_arn=role.role_arn,
            event_selectors=[
                cloudtrail.CfnTrail.EventSelectorProperty(
                    include_management_events=True,
                    read_write_type="All",
                    data_resources=[
                        cloudtrail.CfnTrail.DataResourceProperty(type="AWS::S3::Object", values=[f"{b.bucket_arn}/" for b in data_event_buckets])
                    ],
                )
            ],
        )
        # The bucket policy and the role's permissions must exist before CloudTrail checks them.
        self.trail.node.add_dependency(bucket.policy or bucket, role.node.find_child("GrantsPolicy"))
        self.alarms = SecurityEventAlarms(scope, "SecurityAlarms", log_group=self.log_group, topic=topic)
        trace(
            self.trail,
            ["R12"],
            ["security"],
            "A multi-region, validated, KMS-encrypted trail records management events and data events of the PHI and quarantine buckets.",
        )
        trace(bucket, ["R12"], ["security"], "Trail log files are kept under Object Lock for the HIPAA six-year documentation rule.")
        trace(self.alarms, ["R12", "R13"], ["security", "operational-excellence"], "Security events in the trail page the security topic.")
