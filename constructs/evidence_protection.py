"""Bucket-policy protection of an evidence bucket: nobody but break-glass deletes or rewrites it.

Used on every bucket that holds audit evidence (access logs, Config history, ALB and CloudFront
logs, the trail and the quarantine). Where S3 Object Lock cannot be used (S3 server access logging
and AWS Config refuse Object Lock destinations) this policy is the tamper control; where a lock
exists it is a second layer. Two explicit denies, for every principal (``Principal: *``), which no
IAM allow can override:

- ``DenyEvidenceDeletion``: deleting objects or versions, the bucket itself, or bypassing/changing
  object retention, unless ``aws:PrincipalArn`` matches a break-glass pattern (or, in a sandbox
  only, a teardown pattern);
- ``DenyEvidenceReconfiguration``: changing what keeps the evidence -- lifecycle (which could
  expire it), the bucket policy (which could drop these denies), versioning, Object Lock,
  replication, ownership and ACLs -- unless the principal is break-glass or the CloudFormation
  deployment role (the reviewed pipeline must still update the bucket; validated config keeps the
  retention floor, see ``stacks/config/evidence.py``).

A service principal (log delivery, S3 lifecycle) carries no ``aws:PrincipalArn``; ``ArnNotLike``
on a missing key is true, so the denies apply to services too -- none of them deletes or
reconfigures these buckets (log delivery only writes). S3 Lifecycle expiration is not a request
and is not subject to bucket policies: lifecycle rules are what must not expire early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

DELETION_ACTIONS: tuple[str, ...] = (
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:DeleteBucket",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
)
RECONFIGURATION_ACTIONS: tuple[str, ...] = (
    "s3:PutLifecycleConfiguration",  # also DeleteBucketLifecycle
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutReplicationConfiguration",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketAcl",
)
_ARN_PATTERN = re.compile(r"^arn:aws:iam::(\*|\d{12}):role/[\w+=,.@/*-]+$")


@dataclass(frozen=True, kw_only=True)
class EvidenceProtection:
    """Who may delete or reconfigure evidence: IAM role ARN patterns matched on ``aws:PrincipalArn``."""

    break_glass_principals: tuple[str, ...]  # may delete and reconfigure
    deployment_principals: tuple[str, ...]  # may reconfigure (CloudFormation updates), never delete
    teardown_principals: tuple[str, ...] = ()  # sandbox only: may delete, so the sandbox tears down

    def __post_init__(self) -> None:
        if not self.break_glass_principals:
            raise ValueError("EvidenceProtection: break_glass_principals is empty; someone must be able to repair evidence buckets")
        for name in ("break_glass_principals", "deployment_principals", "teardown_principals"):
            for pattern in getattr(self, name):
                if not _ARN_PATTERN.match(pattern):
                    raise ValueError(f"EvidenceProtection.{name}: {pattern!r} is not an IAM role ARN pattern")


def protect_evidence(bucket: s3.IBucket, protection: EvidenceProtection) -> None:
    """Add the deletion and reconfiguration denies to ``bucket``'s policy."""
    resources = [bucket.bucket_arn, bucket.arn_for_objects("*")]
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyEvidenceDeletion",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=list(DELETION_ACTIONS),
            resources=resources,
            conditions={"ArnNotLike": {"aws:PrincipalArn": [*protection.break_glass_principals, *protection.teardown_principals]}},
        )
    )
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyEvidenceReconfiguration",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=list(RECONFIGURATION_ACTIONS),
            resources=[bucket.bucket_arn],
            conditions={"ArnNotLike": {"aws:PrincipalArn": [*protection.break_glass_principals, *protection.deployment_principals]}},
        )
    )
