"""The bucket that receives S3 server access logs of other buckets (who touched which object, R12).

S3 server access logging can only deliver to a bucket encrypted with SSE-S3 (AES-256), not
SSE-KMS: that is the one deviation from "every bucket uses the customer-managed key", and it is
acknowledged here with that reason. Everything else is as strict as a PHI bucket: private, ACLs
disabled, TLS 1.2+ only, versioned; delivery is allowed by bucket policy to the S3 logging
service for the source buckets only (CDK's ``serverAccessLogsUseBucketPolicy``).

The logs are audit evidence (who touched which object), so they must not be deletable -- but S3
server access logging refuses a destination bucket with Object Lock ("S3 buckets with Object Lock
can't be used as destination buckets for server access logs", S3 User Guide, "Configuring S3
Object Lock"; "Object Lock blocks server access log delivery", "Troubleshoot server access
logging"). The tamper control is therefore the bucket policy of ``protect_evidence`` (deletion and
reconfiguration denied to all but break-glass), and lifecycle never expires a current or
noncurrent version before ``retention_days``.

``LogBucket`` is the one SSE-S3 log bucket (S3 server access logs, ALB access logs: both writers
accept only SSE-S3): an ``s3.Bucket`` subclass, so a hand-built ``s3.Bucket`` under the same scope
and id becomes a ``LogBucket`` with the same logical IDs (bucket and policy). ``LogBucketSettings``
says what differs between log buckets: retention, the storage class they age into, who writes them
(named in the SSE-S3 acknowledgment), and, for a bucket that is itself not server-access-logged,
why. ``AccessLogBucket`` is the construct the data and edge tiers already use (its bucket keeps
the id ``Bucket`` below it). Changing these properties on a deployed bucket is an in-place update:
the only AWS::S3::Bucket properties that replace it are BucketName, BucketNamePrefix and
BucketNamespace (``createOnlyProperties`` of its CloudFormation resource schema), which a
``LogBucket`` never sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.evidence_protection import EvidenceProtection, protect_evidence

ARCHIVE_CLASSES = ("INTELLIGENT_TIERING", "GLACIER")
S3_SERVER_ACCESS_LOGGING = "S3 server access logging"
DEFAULT_REPLICATION_REASON = (
    "Access logs are audit evidence kept in the primary region (S3 stores them across three AZs) for their retention, "
    "under a bucket policy that denies deletion to all but break-glass; they are not needed to restore service after "
    "a regional loss (PHI recovery is AWS Backup, R15)."
)


@dataclass(frozen=True, kw_only=True)
class LogBucketSettings:
    """What differs between SSE-S3 log buckets."""

    retention_days: int  # current and noncurrent versions expire after this (never earlier)
    archive_class: str = "INTELLIGENT_TIERING"  # one of ARCHIVE_CLASSES
    archive_after_days: int = 0
    # Lifecycle rule id and multipart clean-up; None leaves them out (the audit tier's bucket has neither).
    rule_id: str | None = "KeepThenExpire"
    abort_incomplete_upload_days: int | None = 1
    writer: str = S3_SERVER_ACCESS_LOGGING  # the service that delivers: named in the SSE-S3 acknowledgment
    # What the logs hold (named in the SSE-S3 acknowledgment, so it must be true of this writer).
    contents: str = "requesters and object keys (a key may carry a patient identifier), never object bodies"
    replication_reason: str = DEFAULT_REPLICATION_REASON
    # Set when the bucket is not itself server-access-logged: the reason (AwsSolutions-S1).
    unlogged_reason: str | None = None

    def __post_init__(self) -> None:
        if self.retention_days < 1:
            raise ValueError("LogBucketSettings.retention_days: must be at least 1")
        if self.archive_class not in ARCHIVE_CLASSES:
            raise ValueError(f"LogBucketSettings.archive_class: {self.archive_class!r} is not one of {', '.join(ARCHIVE_CLASSES)}")
        if not 0 <= self.archive_after_days <= self.retention_days:
            raise ValueError("LogBucketSettings.archive_after_days: must be from 0 to retention_days")


class LogBucket(s3.Bucket):
    """A private, versioned, TLS 1.2+, SSE-S3 log bucket whose evidence is protected by bucket policy."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: LogBucketSettings,
        protection: EvidenceProtection,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        days = cdk.Duration.days
        storage_class = s3.StorageClass(settings.archive_class)
        super().__init__(
            scope,
            construct_id,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id=settings.rule_id,
                    transitions=[s3.Transition(storage_class=storage_class, transition_after=days(settings.archive_after_days))],
                    expiration=days(settings.retention_days),
                    # A version turns noncurrent no earlier than it was written: never gone early.
                    noncurrent_version_expiration=days(settings.retention_days),
                    abort_incomplete_multipart_upload_after=(
                        days(settings.abort_incomplete_upload_days) if settings.abort_incomplete_upload_days is not None else None
                    ),
                )
            ],
            removal_policy=removal_policy,
        )
        protect_evidence(self, protection)
        resource = self.node.default_child  # the findings are on the bucket itself, not its policy
        if resource is None:
            raise RuntimeError("no CloudFormation resource to acknowledge on")
        acknowledge(
            resource,
            "HIPAA.Security-S3DefaultEncryptionKMS",
            f"{settings.writer} delivers only to buckets with SSE-S3 (AES-256) default encryption; SSE-KMS destinations are "
            f"not supported. The logs hold {settings.contents}; "
            "the bucket is private, TLS-only, encrypted at rest with SSE-S3, and denies deletion to all but break-glass.",
        )
        acknowledge(resource, "HIPAA.Security-S3BucketReplicationEnabled", settings.replication_reason)
        if settings.unlogged_reason is not None:
            acknowledge(resource, "AwsSolutions-S1", settings.unlogged_reason)


class AccessLogBucket(Construct):
    """The S3 server-access-log bucket of a tier (``.bucket`` is its ``LogBucket``, id ``Bucket``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        retention_days: int,
        protection: EvidenceProtection,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        if retention_days < 1:
            raise ValueError("AccessLogBucket: retention_days must be at least 1")
        self.bucket = LogBucket(
            self, "Bucket", settings=LogBucketSettings(retention_days=retention_days), protection=protection, removal_policy=removal_policy
        )
