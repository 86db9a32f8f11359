"""The data tier's buckets (R7, R12): the Records and Imaging PHI buckets and the server-access-log bucket
they log into.

A builder, not a construct of its own: the three buckets are created directly in ``scope`` (ids
``AccessLogs``, ``Records``, ``Imaging``), so their logical IDs are those the Data stack always had -- a
new parent in the construct path would rename, and so replace, the buckets holding PHI.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.access_log_bucket import AccessLogBucket
from constructs.evidence_protection import EvidenceProtection
from constructs.phi_bucket import PhiBucket

PHI_BUCKETS = ("Records", "Imaging")  # construct ids: the logical IDs RecordsBucket600C9C86 / ImagingBucketBF481A76


@dataclass(frozen=True, kw_only=True)
class PhiStorageSettings:
    object_lock_mode: str  # COMPLIANCE | GOVERNANCE (PhiBucket validates)
    object_lock_days: int
    access_log_days: int  # server access logs of the PHI buckets: evidence of who touched which object
    removal_policy: cdk.RemovalPolicy


@dataclass(frozen=True, kw_only=True)
class PhiStorage:
    records_bucket: s3.IBucket
    imaging_bucket: s3.IBucket
    access_log_bucket: s3.IBucket

    @property
    def phi_buckets(self) -> list[s3.IBucket]:
        # Order matters: the App stack's <data stack>-PhiBucket0Arn / -PhiBucket1Arn exports name them by index.
        return [self.records_bucket, self.imaging_bucket]


def phi_storage(scope: Construct, *, settings: PhiStorageSettings, encryption_key: kms.IKey, protection: EvidenceProtection) -> PhiStorage:
    access_logs = AccessLogBucket(
        scope, "AccessLogs", retention_days=settings.access_log_days, protection=protection, removal_policy=settings.removal_policy
    ).bucket
    buckets = {
        name: PhiBucket(
            scope,
            name,
            encryption_key=encryption_key,
            access_log_bucket=access_logs,
            access_log_prefix=f"{name.lower()}/",
            object_lock_mode=settings.object_lock_mode,
            object_lock_days=settings.object_lock_days,
            removal_policy=settings.removal_policy,
        ).bucket
        for name in PHI_BUCKETS
    }
    return PhiStorage(records_bucket=buckets["Records"], imaging_bucket=buckets["Imaging"], access_log_bucket=access_logs)
