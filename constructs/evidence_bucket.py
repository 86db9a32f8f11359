"""A KMS-encrypted bucket of audit evidence (the trail's log files, Config history, the Macie quarantine).

An ``s3.Bucket`` subclass, so each keeps the logical ID it had as a plain bucket under the same
scope and id. Private, TLS-only, versioned, encrypted under the given key with an S3 Bucket Key,
server-access-logged to the tier's ``LogBucket``, archived to Glacier after ``archive_after_days``,
and protected by bucket policy (``protect_evidence``). Object Lock where the writer allows it:
CloudTrail and the quarantine copy do; AWS Config refuses Object Lock buckets, so a bucket without
a lock must say when its objects expire (its retention).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.evidence_protection import EvidenceProtection, protect_evidence

LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


@dataclass(frozen=True, kw_only=True)
class EvidenceLock:
    mode: str  # COMPLIANCE or GOVERNANCE
    days: int

    def __post_init__(self) -> None:
        if self.mode not in LOCK_MODES:
            raise ValueError(f"EvidenceLock.mode: {self.mode!r} is not one of {', '.join(LOCK_MODES)}")
        if self.days < 1:
            raise ValueError("EvidenceLock.days: must be at least 1")

    def retention(self) -> s3.ObjectLockRetention:
        duration = cdk.Duration.days(self.days)
        return s3.ObjectLockRetention.compliance(duration) if self.mode == "COMPLIANCE" else s3.ObjectLockRetention.governance(duration)


class EvidenceBucket(s3.Bucket):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        lock: EvidenceLock | None,
        access_logs: s3.IBucket,
        archive_after_days: int,
        protection: EvidenceProtection,
        removal_policy: cdk.RemovalPolicy,
        expire_after_days: int | None = None,
    ) -> None:
        if lock is None and expire_after_days is None:
            raise ValueError(f"EvidenceBucket {construct_id}: without Object Lock, expire_after_days must be its retention")
        expiry = cdk.Duration.days(expire_after_days) if expire_after_days is not None else None
        super().__init__(
            scope,
            construct_id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            object_lock_enabled=lock is not None,
            object_lock_default_retention=lock.retention() if lock is not None else None,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{construct_id}/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    transitions=[s3.Transition(storage_class=s3.StorageClass.GLACIER, transition_after=cdk.Duration.days(archive_after_days))],
                    expiration=expiry,
                    noncurrent_version_expiration=expiry,
                )
            ],
            removal_policy=removal_policy,
        )
        protect_evidence(self, protection)
        guard = (
            "Object Lock and a bucket policy that denies"
            if lock is not None
            else "a bucket policy (AWS Config refuses Object Lock buckets) that denies"
        )
        acknowledge(
            self,
            "HIPAA.Security-S3BucketReplicationEnabled",
            f"Evidence stays in the EU primary region (S3 stores it across three AZs) under {guard} deletion to all but "
            "break-glass; a replica would only add a second place for audit data to live.",
        )


def allow_service_delivery(bucket: s3.IBucket, service: str, condition: dict[str, str], *, prefix: str) -> None:
    """Let a log-delivering service (CloudTrail, Config) check the bucket ACL and write under
    ``<prefix>/<account>/``, each pinned by ``condition`` (aws:SourceArn / aws:SourceAccount)."""
    account = cdk.Stack.of(bucket).account
    principal = iam.ServicePrincipal(service)
    name = service.split(".")[0].capitalize()
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid=f"{name}AclCheck",
            principals=[principal],
            actions=["s3:GetBucketAcl", "s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringEquals": condition},
        )
    )
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid=f"{name}Write",
            principals=[principal],
            actions=["s3:PutObject"],
            resources=[bucket.arn_for_objects(f"{prefix}/{account}/*")],
            conditions={"StringEquals": {**condition, "s3:x-amz-acl": "bucket-owner-full-control"}},
        )
    )
