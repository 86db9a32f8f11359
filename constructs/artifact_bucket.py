"""A bucket for pipeline artifacts (R16): SSE-KMS with a given key, TLS only, versioned, access-logged.

Pipeline artifacts are the source zip and the synthesized cloud assembly (templates, Lambda code):
no PHI, rebuilt from Git on every run. Server access logs go to a sibling bucket (SSE-S3, the only
encryption S3 log delivery supports). Both expire on a lifecycle, so nothing piles up.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.compliance import acknowledge

ARTIFACT_DAYS = 90


class ArtifactBucket(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        access_log_days: int,
        bucket_name: str | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            versioned=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(access_log_days), noncurrent_version_expiration=cdk.Duration.days(30))],
            removal_policy=removal_policy,
        )
        for rule in ("AwsSolutions-S1", "HIPAA.Security-S3BucketLoggingEnabled"):
            acknowledge(
                self.access_logs,
                rule,
                "This bucket is the server-access-log destination of the artifact bucket next to it; logging it into itself "
                "would loop. Its own management access is recorded by CloudTrail.",
            )
        acknowledge(
            self.access_logs,
            "HIPAA.Security-S3DefaultEncryptionKMS",
            "S3 server access logging delivers only to buckets encrypted with SSE-S3 (AES-256), not SSE-KMS. It holds no PHI.",
        )
        acknowledge(
            self.access_logs,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "Access logs of a pipeline artifact bucket (no PHI) stay in their region; the authoritative record of pipeline "
            "actions is CloudTrail and the pipeline's execution history.",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="artifacts/",
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(ARTIFACT_DAYS), noncurrent_version_expiration=cdk.Duration.days(30))],
            removal_policy=removal_policy,
        )
        acknowledge(
            self.bucket,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "Pipeline artifacts (source zip, cloud assembly) hold no PHI, are rebuilt from Git on the next run and expire "
            f"after {ARTIFACT_DAYS} days.",
        )
