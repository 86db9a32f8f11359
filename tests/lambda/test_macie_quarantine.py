"""Macie quarantine under moto: a real Object-Locked, KMS-encrypted quarantine bucket.

moto has no Macie2 findings API, but this handler never calls Macie: it reads the finding from the
EventBridge event (real shape in ``events.MACIE_DETAIL``), so the S3/SNS side runs fully in moto.
Faults that moto cannot produce on demand (a corrupted copy) are injected by replacing one method.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mv_macie_quarantine import dal, handler
from mv_macie_quarantine.logic import CopyNotVerified, NotAQuarantineFinding, Quarantine, parse_finding
from mv_shared.settings import SettingsError, load

from . import events

pytestmark = pytest.mark.requirements("R11")

SOURCE = "medivault-uploads"
PHI = "medivault-records"
QUARANTINE = "medivault-quarantine"
KEY = "incoming/scan 0001.pdf"
PHI_TAG = ("data-class", "phi")
BODY = b"patient: Jane Doe, DOB 1970-01-01, diagnosis: ..."


def _moto_copy_checksum_header(request: Any, **kwargs: Any) -> None:
    """moto gap: moto refuses CopyObject into a bucket with default Object Lock retention unless an
    ``x-amz-sdk-checksum-algorithm`` header is present (it applies PutObject's Content-MD5 rule to
    copies). botocore sends that header only on PutObject/UploadPart; on CopyObject it sends
    ``x-amz-checksum-algorithm`` (our ChecksumAlgorithm=SHA256). Tests mirror it for moto."""
    algorithm = request.headers.get("x-amz-checksum-algorithm")
    if algorithm and "x-amz-copy-source" in request.headers:
        request.headers["x-amz-sdk-checksum-algorithm"] = algorithm


class World:
    def __init__(self) -> None:
        self.s3 = boto3.client("s3")
        self.s3.meta.events.register("before-sign.s3.CopyObject", _moto_copy_checksum_header)
        self.sns = boto3.client("sns")
        self.sqs = boto3.client("sqs")
        self.key_arn = boto3.client("kms").create_key(Description="quarantine")["KeyMetadata"]["Arn"]
        location = {"CreateBucketConfiguration": {"LocationConstraint": "eu-central-1"}}
        for name in (SOURCE, PHI):
            self.s3.create_bucket(Bucket=name, **location)  # type: ignore[arg-type]
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        self.s3.create_bucket(Bucket=QUARANTINE, ObjectLockEnabledForBucket=True, **location)  # type: ignore[arg-type]
        self.s3.put_object_lock_configuration(
            Bucket=QUARANTINE,
            ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}}},
        )
        self.topic_arn = self.sns.create_topic(Name="security")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName="inbox")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=arn)
        self.settings = handler.Settings(
            quarantine_bucket=QUARANTINE,
            kms_key_arn=self.key_arn,
            topic_arn=self.topic_arn,
            protected_buckets=frozenset({PHI}),
            phi_tag=PHI_TAG,
        )

    def put(self, bucket: str = SOURCE, key: str = KEY, body: bytes = BODY) -> str:
        return str(self.s3.put_object(Bucket=bucket, Key=key, Body=body).get("VersionId", ""))

    def event(self, bucket: str = SOURCE, key: str = KEY, version: str | None = None) -> dict[str, Any]:
        detail = json.loads(json.dumps(events.MACIE_DETAIL))
        detail["resourcesAffected"]["s3Bucket"]["name"] = bucket
        detail["resourcesAffected"]["s3Object"]["key"] = key
        if version is None:
            del detail["resourcesAffected"]["s3Object"]["versionId"]
        else:
            detail["resourcesAffected"]["s3Object"]["versionId"] = version
        return events.envelope("aws.macie", "Macie Finding", detail)

    def handle(self, event: Any) -> dict[str, str]:
        return handler.handle(event, self.settings, self.s3, self.sns)

    def quarantine(self) -> Quarantine:
        return Quarantine(
            dal.S3Objects(self.s3), quarantine_bucket=QUARANTINE, kms_key_arn=self.key_arn, protected_buckets=frozenset({PHI}), phi_tag=PHI_TAG
        )

    def versions(self, bucket: str) -> list[dict[str, Any]]:
        return list(self.s3.list_object_versions(Bucket=bucket).get("Versions", []))

    def notices(self) -> list[str]:
        out = []
        for m in self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", []):
            out.append(json.loads(m["Body"])["Subject"])
        return out


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()


def test_object_is_moved_verified_tagged_locked_and_notified(world: World) -> None:
    version = world.put()
    result = world.handle(world.event(version=version))
    qkey = f"{SOURCE}/{version}/{KEY}"
    assert result == {"status": "quarantined", "detail": f"moved to s3://{QUARANTINE}/{qkey}"}
    assert world.versions(SOURCE) == []  # the source version is gone (no delete marker either)
    copy = world.s3.get_object(Bucket=QUARANTINE, Key=qkey)
    assert copy["Body"].read() == BODY
    assert copy["ServerSideEncryption"] == "aws:kms" and copy["SSEKMSKeyId"] == world.key_arn
    assert copy["ObjectLockMode"] == "COMPLIANCE"
    assert copy["Metadata"] == {"source-bucket": SOURCE, "source-key": "incoming/scan%200001.pdf", "source-version-id": version}
    tags = {t["Key"]: t["Value"] for t in world.s3.get_object_tagging(Bucket=QUARANTINE, Key=qkey)["TagSet"]}
    # data-class=phi: the permission sets' DenyPhiObjectsByObjectTag (s3:ExistingObjectTag) covers the copy.
    assert tags == {
        "data-class": "phi",
        "medivault:quarantine": "macie",
        "medivault:macie-finding-id": events.MACIE_DETAIL["id"],
        "medivault:source-bucket": SOURCE,
    }
    assert world.notices() == ["[HIGH] Macie: object quarantined (SensitiveData:S3Object/Personal)"]


def test_only_the_found_version_moves(world: World) -> None:
    found = world.put(body=b"PHI")
    later = world.put(body=b"clean rewrite")
    world.handle(world.event(version=found))
    assert [v["VersionId"] for v in world.versions(SOURCE)] == [later]


def test_redelivery_after_success_changes_nothing(world: World) -> None:
    version = world.put()
    world.handle(world.event(version=version))
    assert world.handle(world.event(version=version))["status"] == "already-quarantined"
    assert len(world.versions(QUARANTINE)) == 1
    assert len(world.notices()) == 2


def test_redelivery_after_a_failed_delete_finishes_without_a_second_copy(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    version = world.put()

    def refuse(**kwargs: Any) -> None:
        raise RuntimeError("AccessDenied (injected)")

    with monkeypatch.context() as patch:
        patch.setattr(world.s3, "delete_object", refuse)
        with pytest.raises(RuntimeError, match="injected"):
            world.handle(world.event(version=version))
    assert len(world.versions(SOURCE)) == 1 and len(world.versions(QUARANTINE)) == 1  # nothing lost, copy in place
    assert world.handle(world.event(version=version))["status"] == "quarantined"
    assert world.versions(SOURCE) == [] and len(world.versions(QUARANTINE)) == 1


def test_a_copy_that_does_not_verify_keeps_the_source(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    version = world.put()
    real = Quarantine._sha256

    def corrupt(self: Quarantine, bucket: str, key: str, version_id: str | None = None) -> str:
        digest = real(self, bucket, key, version_id)
        return "corrupted" if bucket == QUARANTINE else digest

    monkeypatch.setattr(Quarantine, "_sha256", corrupt)
    with pytest.raises(CopyNotVerified, match="another SHA-256; source kept"):
        world.quarantine().move(parse_finding(world.event(version=version)))
    assert world.s3.get_object(Bucket=SOURCE, Key=KEY, VersionId=version)["Body"].read() == BODY


def test_a_stale_copy_from_an_earlier_delivery_is_replaced_not_trusted(world: World) -> None:
    world.put()  # unversioned finding (no version id): key in quarantine is <bucket>/unversioned/<key>
    world.s3.put_object(
        Bucket=QUARANTINE, Key=f"{SOURCE}/unversioned/{KEY}", Body=b"x" * len(BODY), ChecksumAlgorithm="SHA256"
    )  # same size, other bytes
    assert world.handle(world.event())["status"] == "quarantined"
    assert world.s3.get_object(Bucket=QUARANTINE, Key=f"{SOURCE}/unversioned/{KEY}")["Body"].read() == BODY
    assert len(world.versions(QUARANTINE)) == 2  # the locked older copy stays


def test_unversioned_source_is_not_deleted_if_it_changed_meanwhile(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.put()
    quarantine = world.quarantine()
    finding = parse_finding(world.event())
    original_tag = quarantine._tag

    def overwrite_then_tag(f: Any) -> None:
        original_tag(f)
        world.put(body=b"a new upload under the same key")

    monkeypatch.setattr(quarantine, "_tag", overwrite_then_tag)
    quarantine.move(finding)
    assert world.s3.get_object(Bucket=SOURCE, Key=KEY)["Body"].read() == b"a new upload under the same key"


def test_phi_bucket_is_left_alone(world: World) -> None:
    version = world.put(bucket=PHI)
    assert world.handle(world.event(bucket=PHI, version=version))["status"] == "skipped"
    assert len(world.versions(PHI)) == 1 and world.versions(QUARANTINE) == [] and world.notices() == []


def test_object_gone_from_both_buckets_is_reported_missing(world: World) -> None:
    assert world.handle(world.event(version="v-unknown"))["status"] == "missing"
    assert world.notices() == ["[HIGH] Macie: object missing (SensitiveData:S3Object/Personal)"]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (None, "not a Macie finding"),
        ({"source": "aws.guardduty", "detail-type": "GuardDuty Finding", "detail": {}}, "not a Macie finding"),
        (events.macie(type="Policy:IAMUser/S3BucketPublic"), "is not a sensitive-data finding on an S3 object"),
        (events.macie(resourcesAffected={"s3Bucket": {"name": SOURCE}}), "lacks id, resourcesAffected.s3Bucket or resourcesAffected.s3Object"),
        (events.macie(resourcesAffected={"s3Bucket": {"name": ""}, "s3Object": {"key": KEY}}), "does not name the bucket and object key"),
        ({**events.macie(), "detail": "oops"}, "has no detail object"),
    ],
)
def test_malformed_or_unknown_events_touch_nothing(event: Any, reason: str, caplog: pytest.LogCaptureFixture) -> None:
    # Stubber with nothing queued: any S3 or SNS call would raise, proving no data is touched.
    s3, sns = boto3.client("s3"), boto3.client("sns")
    with Stubber(s3), Stubber(sns):
        settings = handler.Settings(
            quarantine_bucket=QUARANTINE, kms_key_arn="arn:k", topic_arn="arn:t", protected_buckets=frozenset(), phi_tag=PHI_TAG
        )
        result = handler.handle(event, settings, s3, sns)
    assert result["status"] == "rejected" and reason in result["reason"]
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].startswith("rejected: ") and errors[0].endswith("(no object was touched); nothing was changed")
    with pytest.raises(NotAQuarantineFinding):
        parse_finding(event)


def test_lambda_handler_end_to_end(world: World, monkeypatch: pytest.MonkeyPatch, context: Any) -> None:
    for name, value in {
        "QUARANTINE_BUCKET": QUARANTINE,
        "QUARANTINE_KEY_ARN": world.key_arn,
        "TOPIC_ARN": world.topic_arn,
        "PROTECTED_BUCKETS": f"{PHI}, other",
        "PHI_TAG": "data-class=phi",
    }.items():
        monkeypatch.setenv(name, value)
    dal.clients.cache_clear()
    handler.SETTINGS.clear()
    dal.clients()[0].meta.events.register("before-sign.s3.CopyObject", _moto_copy_checksum_header)
    version = world.put()
    assert handler.lambda_handler(world.event(version=version), context)["status"] == "quarantined"
    dal.clients.cache_clear()
    assert handler.SETTINGS.get().protected_buckets == frozenset({PHI, "other"})
    assert handler.SETTINGS.get().phi_tag == PHI_TAG
    handler.SETTINGS.clear()
    with pytest.raises(
        SettingsError, match=r"^mv_macie_quarantine: environment variables QUARANTINE_BUCKET, QUARANTINE_KEY_ARN, TOPIC_ARN, PHI_TAG missing"
    ):
        load(handler.Settings, {})
    monkeypatch.setenv("PHI_TAG", "data-class")
    with pytest.raises(SettingsError, match=r"^mv_macie_quarantine: environment variable PHI_TAG='data-class' must be key=value$"):
        load(handler.Settings)


def _head_denied(bucket_of_denial: str) -> Any:
    """A HeadObject that S3 answers 403 for one bucket (what S3 returns without s3:ListBucket, or
    under an explicit deny, whether or not the object exists) and passes through otherwise."""

    def before_call(params: dict[str, Any], **kwargs: Any) -> Any:
        if params.get("Bucket") == bucket_of_denial:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "HeadObject")
        return None

    return before_call


@pytest.mark.parametrize("denied", [SOURCE, QUARANTINE])
def test_head_access_denied_is_an_error_not_a_missing_object(world: World, denied: str) -> None:
    """HeadObject has no response body, so S3's AccessDenied reaches botocore as code "403"; S3 also
    answers 403 (not 404) for a missing key when the caller lacks s3:ListBucket ("HeadObject",
    S3 API Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html). Reading
    it as "missing" would report a live PHI object as gone and drop the finding: it must raise, so
    Lambda retries and keeps the event in the dead-letter queue, with the source untouched."""
    from botocore.exceptions import ClientError

    version = world.put()
    if denied == QUARANTINE:  # the redelivery path: source already gone, the copy cannot be checked
        world.s3.delete_object(Bucket=SOURCE, Key=KEY, VersionId=version)
    world.s3.meta.events.register("provide-client-params.s3.HeadObject", _head_denied(denied))
    with pytest.raises(ClientError, match="403"):
        world.handle(world.event(version=version))
    assert world.notices() == []  # no "missing" notice
    assert world.versions(QUARANTINE) == []
    if denied == SOURCE:
        assert [v["VersionId"] for v in world.versions(SOURCE)] == [version]


def _head_refused(code: str, status: int, bucket_of_denial: str) -> Any:
    def before_call(params: dict[str, Any], **kwargs: Any) -> Any:
        if params.get("Bucket") == bucket_of_denial:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": code, "Message": "Access Denied"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "HeadObject")
        return None

    return before_call


@pytest.mark.parametrize("code", ["403", "AccessDenied"])
def test_access_denied_on_head_is_logged_as_an_error_and_raised_not_reported_missing(
    world: World, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    """HeadObject 403 (code "403" from botocore as S3 sends no body; "AccessDenied" where a body is
    parsed) is "not allowed to know", not 404/NoSuchKey "missing": one error line naming the
    object, the error re-raised (Lambda retries, then the DLQ keeps the event), no "missing" notice,
    source kept."""
    from botocore.exceptions import ClientError

    version = world.put()
    world.s3.meta.events.register("provide-client-params.s3.HeadObject", _head_refused(code, 403, SOURCE))
    with pytest.raises(ClientError, match=code):
        world.handle(world.event(version=version))
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].getMessage().startswith("quarantine failed, the source object is kept")
    assert code in errors[0].getMessage()
    assert not any(r.getMessage().startswith("missing") for r in caplog.records)
    assert world.notices() == []
    assert [v["VersionId"] for v in world.versions(SOURCE)] == [version] and world.versions(QUARANTINE) == []


@pytest.mark.parametrize(("code", "missing"), [("404", True), ("NoSuchKey", True), ("NoSuchVersion", True), ("403", False), ("AccessDenied", False)])
def test_only_not_found_answers_mean_missing(code: str, missing: bool) -> None:
    s3 = boto3.client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("head_object", service_error_code=code, http_status_code=404 if missing else 403)
        if missing:
            assert dal.S3Objects(s3).head(SOURCE, KEY, "v1") is None
        else:
            from botocore.exceptions import ClientError

            with pytest.raises(ClientError):
                dal.S3Objects(s3).head(SOURCE, KEY, "v1")
