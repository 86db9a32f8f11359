"""LogBucket / AccessLogBucket: the one SSE-S3 log bucket, and its deploy-safe generalisation."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import cfnlint
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cdk_nag import WriteNagSuppressionsToCloudFormationAspect
from constructs.access_log_bucket import AccessLogBucket, LogBucket, LogBucketSettings
from constructs.evidence_protection import EvidenceProtection

from tests.constructs.helpers import bare_stack, resources, statements

pytestmark = pytest.mark.requirements("R12")

PROTECTION = EvidenceProtection(break_glass_principals=("arn:aws:iam::*:role/BreakGlass",), deployment_principals=())


def _bucket(template: Template) -> dict:  # type: ignore[type-arg]
    [bucket] = resources(template, "AWS::S3::Bucket").values()
    return bucket


def test_access_log_bucket_defaults_intelligent_tiering_from_day_zero() -> None:
    stack = bare_stack()
    AccessLogBucket(stack, "AccessLogs", retention_days=400, protection=PROTECTION, removal_policy=cdk.RemovalPolicy.RETAIN)
    template = Template.from_stack(stack)
    props = _bucket(template)["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    assert props["LifecycleConfiguration"]["Rules"] == [
        {
            "Id": "KeepThenExpire",
            "Status": "Enabled",
            "Transitions": [{"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 0}],
            "ExpirationInDays": 400,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 400},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
    ]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    # The bucket keeps the path AccessLogs/Bucket it had before LogBucket existed.
    assert next(iter(resources(template, "AWS::S3::Bucket"))).startswith("AccessLogsBucket")


def test_policy_denies_plain_http_tls_below_1_2_and_evidence_deletion() -> None:
    stack = bare_stack()
    LogBucket(stack, "Logs", settings=LogBucketSettings(retention_days=30), protection=PROTECTION, removal_policy=cdk.RemovalPolicy.DESTROY)
    [policy] = resources(Template.from_stack(stack), "AWS::S3::BucketPolicy").values()
    found = statements(policy["Properties"]["PolicyDocument"])
    conditions = [s.get("Condition") for s in found if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions
    assert {s.get("Sid") for s in found} >= {"DenyEvidenceDeletion", "DenyEvidenceReconfiguration"}


def test_audit_style_settings_glacier_without_rule_id_and_the_unlogged_acknowledgment() -> None:
    stack = bare_stack()
    cdk.Aspects.of(stack).add(WriteNagSuppressionsToCloudFormationAspect())  # acknowledgments into Metadata
    LogBucket(
        stack,
        "AccessLogBucket",
        settings=LogBucketSettings(
            retention_days=2190,
            archive_class="GLACIER",
            archive_after_days=90,
            rule_id=None,
            abort_incomplete_upload_days=None,
            unlogged_reason="This bucket is the log destination; logging it into itself would log its own writes forever.",
        ),
        protection=PROTECTION,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    template = Template.from_stack(stack)
    logical_id, resource = next(iter(resources(template, "AWS::S3::Bucket").items()))
    assert resource["Properties"]["LifecycleConfiguration"]["Rules"] == [
        {
            "Status": "Enabled",
            "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 90}],
            "ExpirationInDays": 2190,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 2190},
        }
    ]
    assert resource["DeletionPolicy"] == "Retain"
    # An s3.Bucket subclass: the same logical ID a plain s3.Bucket("AccessLogBucket") had.
    plain = bare_stack()
    s3.Bucket(plain, "AccessLogBucket")
    assert logical_id == next(iter(resources(Template.from_stack(plain), "AWS::S3::Bucket")))
    acknowledged = {r["id"] for r in resource["Metadata"]["cdk_nag"]["rules_to_suppress"]}
    assert acknowledged == {"HIPAA.Security-S3DefaultEncryptionKMS", "HIPAA.Security-S3BucketReplicationEnabled", "AwsSolutions-S1"}


def test_a_log_bucket_sets_no_property_that_replaces_a_bucket() -> None:
    """Changing a log bucket's settings must be an in-place update: CloudFormation replaces an
    AWS::S3::Bucket only for its createOnlyProperties (resource provider schema, shipped with cfn-lint)."""
    root = Path(cfnlint.__file__).parent / "data" / "schemas"
    schema_id = json.loads((root / "providers" / "eu-central-1.json").read_text())["AWS::S3::Bucket"]
    create_only = {p.removeprefix("/properties/") for p in json.loads((root / "resources" / f"{schema_id}.json").read_text())["createOnlyProperties"]}
    assert "BucketName" in create_only
    stack = bare_stack()
    LogBucket(stack, "Logs", settings=LogBucketSettings(retention_days=30), protection=PROTECTION, removal_policy=cdk.RemovalPolicy.DESTROY)
    assert not create_only & set(_bucket(Template.from_stack(stack))["Properties"])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": 30, "archive_class": "DEEP_ARCHIVE"}, "archive_class"),
        ({"retention_days": 30, "archive_after_days": 31}, "archive_after_days"),
    ],
)
def test_invalid_settings_fail_with_the_key(settings: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=f"LogBucketSettings.{message}"):
        LogBucketSettings(**settings)
