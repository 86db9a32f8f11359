"""Proof (moto) that the Object Lock configuration we synthesize makes PHI versions tamper-proof.

The bucket's ObjectLockConfiguration is read from the synthesized production template and put on
a moto bucket unchanged; then a locked version can be neither deleted nor overwritten in place:
an overwrite only adds a newer version and the locked one stays readable. moto 5.2.5 answers
GetObjectRetention with HTTP 500, so the lock is read back with HeadObject.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.conftest import Synthesized, resources_of

pytestmark = pytest.mark.requirements("R7")

REGION = "eu-central-1"


@pytest.fixture
def s3_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("s3", region_name=REGION)


def _lock_configuration(synth: Synthesized, environment: str) -> dict[str, object]:
    bucket = resources_of(synth.template(environment, "data"), "AWS::S3::Bucket")["RecordsBucket600C9C86"]
    config: dict[str, object] = bucket["Properties"]["ObjectLockConfiguration"]
    return config


@pytest.mark.parametrize("environment", ["production", "sandbox"])
def test_locked_version_cannot_be_deleted_or_overwritten(synth: Synthesized, s3_client: Any, environment: str) -> None:
    s3 = s3_client
    lock = _lock_configuration(synth, environment)
    rule = lock["Rule"]["DefaultRetention"]
    s3.create_bucket(Bucket="phi", CreateBucketConfiguration={"LocationConstraint": REGION}, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket="phi", ObjectLockConfiguration=lock)

    first = s3.put_object(Bucket="phi", Key="patient/MV-0123456789/record.pdf", Body=b"original")
    head = s3.head_object(Bucket="phi", Key="patient/MV-0123456789/record.pdf", VersionId=first["VersionId"])
    assert head["ObjectLockMode"] == rule["Mode"]
    until = head["ObjectLockRetainUntilDate"]
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(days=rule["Days"])
    assert abs((until - expected).total_seconds()) < 3600

    # Delete the locked version: refused (also when asking to bypass GOVERNANCE without the right).
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket="phi", Key="patient/MV-0123456789/record.pdf", VersionId=first["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"

    # "Overwrite": S3 writes a new version; the locked original is untouched and still readable.
    second = s3.put_object(Bucket="phi", Key="patient/MV-0123456789/record.pdf", Body=b"tampered")
    assert second["VersionId"] != first["VersionId"]
    original = s3.get_object(Bucket="phi", Key="patient/MV-0123456789/record.pdf", VersionId=first["VersionId"])
    assert original["Body"].read() == b"original"
    with pytest.raises(ClientError) as still_refused:
        s3.delete_object(Bucket="phi", Key="patient/MV-0123456789/record.pdf", VersionId=first["VersionId"])
    assert still_refused.value.response["Error"]["Code"] == "AccessDenied"


def test_without_the_lock_the_same_delete_succeeds(s3_client: Any) -> None:
    """Control: the refusal above comes from the lock, not from moto refusing deletes in general."""
    s3 = s3_client
    s3.create_bucket(Bucket="plain", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket="plain", VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket="plain", Key="k", Body=b"x")["VersionId"]
    s3.delete_object(Bucket="plain", Key="k", VersionId=version)
    assert "Versions" not in s3.list_object_versions(Bucket="plain")


@pytest.mark.parametrize("environment", ["production", "sandbox"])
@pytest.mark.parametrize("bucket_lid", ["QuarantineBucketFDBDA180", "TrailBucketA831CE63"])
def test_evidence_locks_hold_a_copied_version(synth: Synthesized, s3_client: Any, environment: str, bucket_lid: str) -> None:
    """The audit stack relies on Object Lock for the trail and the Macie quarantine copy (the other
    evidence buckets rely on their bucket policy: their writers refuse Object Lock). A version
    written into a bucket with the synthesized lock configuration -- by CopyObject, as the
    quarantine function writes, with the integrity checksum S3 requires under Object Lock
    ("The Content-MD5 or x-amz-sdk-checksum-algorithm header is required for any request to upload
    an object with a retention period configured using Amazon S3 Object Lock",
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html) -- carries the configured
    mode and cannot be deleted."""
    s3 = s3_client
    props = resources_of(synth.template(environment, "audit"), "AWS::S3::Bucket")[bucket_lid]["Properties"]
    lock = props["ObjectLockConfiguration"]
    rule = lock["Rule"]["DefaultRetention"]
    audit = synth.stages[environment].config.audit
    expected_days = audit.quarantine_lock_days if bucket_lid.startswith("Quarantine") else audit.trail_lock_days
    assert rule["Days"] == expected_days
    location = {"CreateBucketConfiguration": {"LocationConstraint": REGION}}
    s3.create_bucket(Bucket="source", **location)
    s3.create_bucket(Bucket="evidence", ObjectLockEnabledForBucket=True, **location)
    s3.put_object_lock_configuration(Bucket="evidence", ObjectLockConfiguration=lock)
    s3.put_object(Bucket="source", Key="scan.pdf", Body=b"PHI found in the wrong place")

    def checksum_header(request: Any, **kwargs: Any) -> None:  # moto wants the sdk header on copies too
        if request.headers.get("x-amz-checksum-algorithm"):
            request.headers["x-amz-sdk-checksum-algorithm"] = request.headers["x-amz-checksum-algorithm"]

    s3.meta.events.register("before-sign.s3.CopyObject", checksum_header)
    copied = s3.copy_object(
        Bucket="evidence", Key="source/v1/scan.pdf", CopySource={"Bucket": "source", "Key": "scan.pdf"}, ChecksumAlgorithm="SHA256"
    )
    version = copied["VersionId"]
    head = s3.head_object(Bucket="evidence", Key="source/v1/scan.pdf", VersionId=version)
    assert head["ObjectLockMode"] == rule["Mode"] == ("COMPLIANCE" if environment == "production" else "GOVERNANCE")
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket="evidence", Key="source/v1/scan.pdf", VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert s3.get_object(Bucket="evidence", Key="source/v1/scan.pdf", VersionId=version)["Body"].read() == b"PHI found in the wrong place"
