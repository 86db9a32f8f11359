"""phi_storage in a bare stack: the buckets are created directly in the scope, so their logical IDs are the
Data stack's pinned ones (a rename replaces a bucket holding PHI), and both PHI buckets log into the
access-log bucket under their own prefix."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from constructs.evidence_protection import EvidenceProtection
from constructs.phi_storage import PhiStorageSettings, phi_storage

from tests.constructs.conftest import bare_stack, logical_id

pytestmark = pytest.mark.requirements("R7", "R12")

PROTECTION = EvidenceProtection(
    break_glass_principals=("arn:aws:iam::123456789012:role/BreakGlass",), deployment_principals=("arn:aws:iam::123456789012:role/Deploy",)
)


def test_bucket_logical_ids_are_the_data_stacks_and_logging_goes_to_the_log_bucket() -> None:
    stack = bare_stack()
    storage = phi_storage(
        stack,
        settings=PhiStorageSettings(
            object_lock_mode="GOVERNANCE", object_lock_days=1, access_log_days=2192, removal_policy=cdk.RemovalPolicy.DESTROY
        ),
        encryption_key=kms.Key(stack, "DataKey"),
        protection=PROTECTION,
    )
    # tests/stacks/test_data.py pins the same IDs on the synthesized Data stack.
    ids = [logical_id(b) for b in (storage.access_log_bucket, storage.records_bucket, storage.imaging_bucket)]
    assert ids == ["AccessLogsBucketCD784A59", "RecordsBucket600C9C86", "ImagingBucketBF481A76"]
    assert storage.phi_buckets == [storage.records_bucket, storage.imaging_bucket], "index order names the PhiBucket<i>Arn exports"
    resources = Template.from_stack(stack).to_json()["Resources"]
    for bucket, prefix in ((storage.records_bucket, "records/"), (storage.imaging_bucket, "imaging/")):
        assert resources[logical_id(bucket)]["Properties"]["LoggingConfiguration"] == {
            "DestinationBucketName": {"Ref": ids[0]},
            "LogFilePrefix": prefix,
        }
    [rule] = resources[ids[0]]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 2192
