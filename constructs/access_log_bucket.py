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
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.evidence_protection import EvidenceProtection, protect_evidence


class AccessLogBucket(Construct):
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
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="KeepThenExpire",
                    transitions=[s3.Transition(storage_class=s3.StorageClass.INTELLIGENT_TIERING, transition_after=cdk.Duration.days(0))],
                    expiration=cdk.Duration.days(retention_days),
                    # A version turns noncurrent no earlier than it was written: never gone early.
                    noncurrent_version_expiration=cdk.Duration.days(retention_days),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
            removal_policy=removal_policy,
        )
        protect_evidence(self.bucket, protection)
        resource = self.bucket.node.default_child  # the findings are on the bucket itself, not its policy
        if resource is None:
            raise RuntimeError("no CloudFormation resource to acknowledge on")
        acknowledge(
            resource,
            "HIPAA.Security-S3DefaultEncryptionKMS",
            "S3 server access logging delivers only to buckets with SSE-S3 (AES-256) default encryption; SSE-KMS destinations are "
            "not supported. The logs hold requesters and object keys (a key may carry a patient identifier), never object bodies; "
            "the bucket is private, TLS-only, encrypted at rest with SSE-S3, and denies deletion to all but break-glass.",
        )
        acknowledge(
            resource,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "Access logs are audit evidence kept in the primary region (S3 stores them across three AZs) for their retention, "
            "under a bucket policy that denies deletion to all but break-glass; they are not needed to restore service after "
            "a regional loss (PHI recovery is AWS Backup, R15).",
        )
