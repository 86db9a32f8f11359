"""PhiBucket in a bare stack: tagged by the one tag owner (data-class=phi with S3 ABAC on, backup=required),
SSE-KMS with the given key only, Object Lock as configured, and traced with its settings.

S3 evaluates aws:ResourceTag on a general purpose bucket only with ABAC enabled
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/buckets-tagging-enable-abac.html).
"""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from constructs.data_classification import BACKUP_TAG_KEY, BACKUP_TAG_VALUE, PHI_TAG_KEY, PHI_TAG_VALUE
from constructs.phi_bucket import PhiBucket

from tests.constructs.conftest import acknowledged, bare_stack, logical_id, tags, traces

pytestmark = pytest.mark.requirements("R7")


def _build(mode: str = "COMPLIANCE", days: int = 2555) -> tuple[PhiBucket, kms.Key, Template]:
    stack = bare_stack()
    key = kms.Key(stack, "DataKey")
    bucket = PhiBucket(
        stack,
        "Records",
        encryption_key=key,
        access_log_bucket=s3.Bucket(stack, "Logs"),
        access_log_prefix="records/",
        object_lock_mode=mode,
        object_lock_days=days,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    return bucket, key, Template.from_stack(stack)


@pytest.fixture(scope="module")
def production() -> tuple[PhiBucket, kms.Key, Template]:
    return _build()


def test_tagged_phi_with_abac_and_backup_required(production: tuple[PhiBucket, kms.Key, Template]) -> None:
    bucket, _, template = production
    resource = template.to_json()["Resources"][logical_id(bucket.bucket)]
    assert tags(resource) == {PHI_TAG_KEY: PHI_TAG_VALUE, BACKUP_TAG_KEY: BACKUP_TAG_VALUE}
    assert (PHI_TAG_KEY, PHI_TAG_VALUE, BACKUP_TAG_KEY, BACKUP_TAG_VALUE) == ("data-class", "phi", "backup", "required")
    assert resource["Properties"]["AbacStatus"] == "Enabled"


def test_encrypted_with_the_given_key_and_locked(production: tuple[PhiBucket, kms.Key, Template]) -> None:
    bucket, key, template = production
    properties = template.to_json()["Resources"][logical_id(bucket.bucket)]["Properties"]
    [rule] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [logical_id(key), "Arn"]}}
    assert properties["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {"Mode": "COMPLIANCE", "Days": 2555}
    assert "HIPAA.Security-S3BucketReplicationEnabled" in acknowledged(template, logical_id(bucket.bucket))


def test_traces_carry_the_lock_settings(production: tuple[PhiBucket, kms.Key, Template]) -> None:
    bucket, _, _ = production
    [first, second] = traces(bucket)
    assert "COMPLIANCE Object Lock for 2555 days" in first["why"] and second["pillars"] == ["sustainability"]
    sandbox, _, _ = _build("GOVERNANCE", 1)
    assert "GOVERNANCE Object Lock for 1 days" in traces(sandbox)[0]["why"]


def test_invalid_lock_mode_names_the_allowed_values() -> None:
    with pytest.raises(ValueError, match=r"^PhiBucket: object_lock_mode 'LEGAL' is not one of COMPLIANCE, GOVERNANCE$"):
        _build("LEGAL")
