"""The Macie quarantine (R11): PHI that Macie finds outside the PHI buckets is moved, verified, into
the locked quarantine bucket, and the security topic is told.

A ``MediVaultFunction`` subclass (``mv_macie_quarantine``; role, log group, dead-letter queue and
function keep their ids) with its EventBridge rule below it. What the function calls
(lambda/mv_macie_quarantine/quarantine.py): HeadObject, GetObject and (managed, multipart above
8 MB) CopyObject/UploadPartCopy on the flagged source version, then DeleteObject of that version;
Put/Get/tagging on the quarantine copy. Its role may do exactly that, on this account's buckets,
never on the PHI or evidence buckets (explicit denies), and the data key never decrypts a PHI
bucket's objects for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.alert_topic import AlertTopic
from constructs.compliance import acknowledge
from constructs.data_classification import phi_object_tag
from constructs.finding_ids import arn_id, logical_id
from constructs.findings_notifier import alarm_on_undelivered, retrying_target
from constructs.medivault_function import FunctionSettings, MediVaultFunction
from constructs.traceability import trace


@dataclass(frozen=True, kw_only=True)
class MacieQuarantineSettings:
    retry_attempts: int = 8
    max_event_age_hours: int = 24
    timeout_minutes: int = 15
    memory_mib: int = 1024


class MacieQuarantine(MediVaultFunction):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: MacieQuarantineSettings,
        function: FunctionSettings,
        quarantine_bucket: s3.IBucket,
        data_key: kms.IKey,
        topic: AlertTopic,
        phi_buckets: Sequence[s3.IBucket],
        evidence_buckets: Sequence[s3.IBucket],
    ) -> None:
        # Never touched: PHI belongs in the PHI buckets, and evidence must stay where it was written.
        protected = [*phi_buckets, *evidence_buckets]
        super().__init__(
            scope,
            construct_id,
            source="mv_macie_quarantine",
            description="Macie finding -> move the object into the locked quarantine bucket",
            environment={
                "QUARANTINE_BUCKET": quarantine_bucket.bucket_name,
                "QUARANTINE_KEY_ARN": data_key.key_arn,
                "TOPIC_ARN": topic.topic_arn,
                "PROTECTED_BUCKETS": ",".join(b.bucket_name for b in protected),
                # Quarantined copies carry the object tag the permission sets deny on (s3:ExistingObjectTag).
                "PHI_TAG": phi_object_tag(),
            },
            timeout=cdk.Duration.minutes(settings.timeout_minutes),
            memory_size=settings.memory_mib,
            settings=function,
        )
        stack = cdk.Stack.of(self)
        role = self.role
        # Macie may find PHI in any bucket of the account, so the source side is this account's buckets...
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[f"arn:{stack.partition}:s3:::*/*"],
                conditions={"StringEquals": {"s3:ResourceAccount": stack.account}},
            )
        )
        # ... except the PHI and evidence buckets: no object read, write, delete or listing there
        # (an explicit deny beats every allow, this role's and any added later).
        role.add_to_principal_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject"],
                resources=[b.arn_for_objects("*") for b in protected],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY, actions=["s3:ListBucket", "s3:ListBucketVersions"], resources=[b.bucket_arn for b in protected]
            )
        )
        # HeadObject answers 404 (not 403) for a missing object only with ListBucket.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:ListBucketVersions"],
                resources=[f"arn:{stack.partition}:s3:::*"],
                conditions={"StringEquals": {"s3:ResourceAccount": stack.account}},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:GetObjectTagging", "s3:AbortMultipartUpload"],
                resources=[quarantine_bucket.arn_for_objects("*")],
            )
        )
        # The quarantine copy is evidence: this role never removes or unlocks it.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["s3:DeleteObject*", "s3:BypassGovernanceRetention", "s3:PutObjectRetention", "s3:PutObjectLegalHold"],
                resources=[quarantine_bucket.arn_for_objects("*")],
            )
        )
        # The data key through S3 only (the quarantine bucket's key), and never for a PHI bucket's
        # objects: S3 passes the bucket ARN (Bucket Keys) or object ARN as aws:s3:arn encryption context.
        via_s3 = {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[data_key.key_arn], conditions={"StringEquals": via_s3})
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["kms:Decrypt"],
                resources=[data_key.key_arn],
                conditions={
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": [a for b in phi_buckets for a in (b.bucket_arn, b.arn_for_objects("*"))]}
                },
            )
        )
        topic.allow_publish(role)
        acknowledge(
            role,
            arn_id(self, "AwsSolutions-IAM5[Resource::arn:{partition}:s3:::*/*]"),
            "Macie can find PHI in any bucket of this account; reading and deleting the flagged object is limited to this account "
            "(s3:ResourceAccount), and an explicit deny blocks every object read, write, delete and listing on the PHI buckets and "
            "on every evidence bucket (trail, Config, the S3/ALB/CloudFront access-log buckets); the data key cannot decrypt PHI "
            "bucket objects for this role.",
        )
        acknowledge(
            role,
            arn_id(self, "AwsSolutions-IAM5[Resource::arn:{partition}:s3:::*]"),
            "ListBucket on this account's buckets, so a missing object reads as 404 and a redelivery is recognised; "
            "explicitly denied on the PHI and evidence buckets.",
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{logical_id(quarantine_bucket)}.Arn>/*]",
            "The quarantine keys are derived from each finding (bucket/version/key); only objects of the quarantine bucket, "
            "which this role may write and read back but never delete or unlock.",
        )
        self.rule = events.Rule(
            self,
            "SensitiveObjects",
            event_pattern=events.EventPattern(
                source=["aws.macie"], detail_type=["Macie Finding"], detail={"type": [{"prefix": "SensitiveData:S3Object/"}]}
            ),
            targets=[retrying_target(self, retry_attempts=settings.retry_attempts, max_event_age_hours=settings.max_event_age_hours)],
        )
        self.undelivered_alarms = alarm_on_undelivered(self, queue=self.dead_letter_queue, rules=[self.rule], topic=topic, what="Macie quarantine")
        trace(self, ["R11"], ["security"], "PHI found outside the PHI buckets is moved, verified, into a locked quarantine bucket.")
