"""The only module that calls AWS: S3 bucket configuration reads and AWS Config PutEvaluations.

Clients are created on first use (not at import); boto3 takes the region from AWS_REGION.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.exceptions import ClientError

from mv_phi_bucket_rule.logic import BucketState

BATCH = 100  # PutEvaluations accepts at most 100 evaluations per call


@functools.cache
def clients() -> tuple[Any, Any]:
    """(S3, Config)."""
    return boto3.client("s3"), boto3.client("config")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Buckets:
    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def state(self, name: str) -> BucketState | None:
        try:
            tags = {t["Key"]: t["Value"] for t in self.s3.get_bucket_tagging(Bucket=name)["TagSet"]}
        except ClientError as error:
            if _code(error) == "NoSuchBucket":
                return None
            if _code(error) != "NoSuchTagSet":
                raise
            tags = {}
        try:
            lock: dict[str, Any] | None = self.s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
        except ClientError as error:
            if _code(error) != "ObjectLockConfigurationNotFoundError":
                raise
            lock = None
        versioning = self.s3.get_bucket_versioning(Bucket=name).get("Status")
        try:
            rules = self.s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError as error:
            if _code(error) != "ServerSideEncryptionConfigurationNotFoundError":
                raise
            rules = []
        return BucketState(name=name, tags=tags, object_lock=lock, versioning_status=versioning, encryption_rules=rules)

    def names_in(self, region: str) -> list[str]:
        names = []
        for bucket in self.s3.list_buckets()["Buckets"]:
            location = self.s3.get_bucket_location(Bucket=bucket["Name"]).get("LocationConstraint") or "us-east-1"
            if location == region:
                names.append(str(bucket["Name"]))
        return names


def report(config: Any, token: str, evaluations: list[dict[str, Any]], test_mode: bool) -> None:
    for start in range(0, len(evaluations), BATCH):
        extra = {"TestMode": True} if test_mode else {}
        result = config.put_evaluations(Evaluations=evaluations[start : start + BATCH], ResultToken=token, **extra)
        if result.get("FailedEvaluations"):
            raise RuntimeError(f"PutEvaluations refused {len(result['FailedEvaluations'])} evaluations")
