"""A private, KMS-encrypted, Object-Locked S3 bucket for protected health information (R7).

What the bucket guarantees, whoever writes to it:
- private: all public access blocked, ACLs disabled (bucket owner owns every object);
- encrypted at rest with the given customer-managed key (SSE-KMS, S3 Bucket Keys to cut KMS
  calls and cost); the bucket policy refuses uploads that ask for any other key or another kind
  of encryption, and any request not made over TLS 1.2+;
- tamper-proof: versioning and Object Lock with a default retention (COMPLIANCE in production:
  no one, root included, can delete or overwrite a locked version before it expires);
- cheap over years: every object goes to INTELLIGENT_TIERING on upload, and the bucket's
  Intelligent-Tiering configuration moves objects untouched for 90 days to Archive Access and for
  180 days to Deep Archive Access (restores then take hours: the app shows "retrieving");
- noncurrent versions are expired only after ``object_lock_days`` as noncurrent, i.e. never
  before their lock can have run out (lifecycle never fights Object Lock);
- every request is logged by S3 server access logging into the access-log bucket;
- tagged ``data-class=phi`` and ``backup=required`` (constructs/data_classification.py) with S3 ABAC on,
  so the tag-based denies of the SCPs and permission sets match (Config rules and AWS Backup select by tag).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.data_classification import tag_backup, tag_phi_bucket
from constructs.traceability import trace

ARCHIVE_ACCESS_AFTER_DAYS = 90
DEEP_ARCHIVE_ACCESS_AFTER_DAYS = 180
OBJECT_LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


class PhiBucket(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        access_log_prefix: str,
        object_lock_mode: str,
        object_lock_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        if object_lock_mode not in OBJECT_LOCK_MODES:
            raise ValueError(f"PhiBucket: object_lock_mode {object_lock_mode!r} is not one of {', '.join(OBJECT_LOCK_MODES)}")
        if object_lock_days < 1:
            raise ValueError("PhiBucket: object_lock_days must be at least 1")
        retention = cdk.Duration.days(object_lock_days)
        lock = s3.ObjectLockRetention.compliance(retention) if object_lock_mode == "COMPLIANCE" else s3.ObjectLockRetention.governance(retention)

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            object_lock_enabled=True,
            object_lock_default_retention=lock,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix=access_log_prefix,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="IntelligentTieringOnUpload",
                    transitions=[s3.Transition(storage_class=s3.StorageClass.INTELLIGENT_TIERING, transition_after=cdk.Duration.days(0))],
                    noncurrent_version_transitions=[
                        s3.NoncurrentVersionTransition(storage_class=s3.StorageClass.INTELLIGENT_TIERING, transition_after=cdk.Duration.days(0))
                    ],
                    # A version turns noncurrent at the earliest when it was created, so after this
                    # many noncurrent days its default retention has always run out.
                    noncurrent_version_expiration=retention,
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
            intelligent_tiering_configurations=[
                s3.IntelligentTieringConfiguration(
                    name="ArchiveUntouchedObjects",
                    archive_access_tier_time=cdk.Duration.days(ARCHIVE_ACCESS_AFTER_DAYS),
                    deep_archive_access_tier_time=cdk.Duration.days(DEEP_ARCHIVE_ACCESS_AFTER_DAYS),
                )
            ],
            removal_policy=removal_policy,
        )
        # Default encryption covers uploads that name no key; these two refuse uploads that name
        # another key (or SSE-S3 / DSSE), so no PHI object is ever outside the customer-managed key.
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyUploadsWithAnotherKmsKey",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": encryption_key.key_arn}},
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyUploadsWithAnotherEncryption",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
            )
        )
        tag_phi_bucket(self.bucket)  # data-class=phi with S3 ABAC on: the SCP/permission-set denies match
        tag_backup(self.bucket)
        bucket_resource = self.bucket.node.default_child
        if bucket_resource is None:
            raise RuntimeError("no CloudFormation resource to acknowledge on")
        acknowledge(
            bucket_resource,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "Disaster recovery of PHI objects is AWS Backup (daily S3 backups copied to the eu-west-1 vault, R15), selected by "
            "the backup=required tag; live cross-region replication would double the PHI footprint without adding a restore point.",
        )
        trace(
            self,
            ["R7"],
            ["security", "reliability", "cost-optimisation"],
            f"PHI bucket: SSE-KMS with the data key only, TLS only, {object_lock_mode} Object Lock for {object_lock_days} days, "
            f"Intelligent-Tiering archive after {ARCHIVE_ACCESS_AFTER_DAYS}/{DEEP_ARCHIVE_ACCESS_AFTER_DAYS} days, access-logged.",
        )
        trace(
            self,
            ["R7"],
            ["sustainability"],
            f"Intelligent-Tiering moves untouched images to the archive tiers after {ARCHIVE_ACCESS_AFTER_DAYS} and "
            f"{DEEP_ARCHIVE_ACCESS_AFTER_DAYS} days: cold data on colder storage.",
        )
