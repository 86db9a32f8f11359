"""Custom Config rule under moto: real buckets, evaluations reported with PutEvaluations.

moto implements ``config:PutEvaluations`` only with ``TestMode=True``; the handler sends it only
when ``CONFIG_RULE_TEST_MODE=true``, which these tests set (the deployed function never does).
Each PutEvaluations request is recorded through botocore's event hooks on the real client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mv_phi_bucket_rule import dal, handler
from mv_phi_bucket_rule.logic import BadParameters, BucketState, RuleParameters, evaluate

from . import events

pytestmark = pytest.mark.requirements("R7", "R14")

LOCATION = {"CreateBucketConfiguration": {"LocationConstraint": "eu-central-1"}}


class World:
    def __init__(self) -> None:
        self.s3 = boto3.client("s3")
        self.config = boto3.client("config")
        kms = boto3.client("kms")
        self.data_key = kms.create_key(Description="data")["KeyMetadata"]["Arn"]
        self.other_key = kms.create_key(Description="other")["KeyMetadata"]["Arn"]
        self.params = {"lockMode": "COMPLIANCE", "minRetentionDays": "2555", "kmsKeyArn": self.data_key}
        self.sent: list[dict[str, Any]] = []
        self.config.meta.events.register("provide-client-params.config-service.PutEvaluations", self._record)

    def _record(self, params: dict[str, Any], **kwargs: Any) -> None:
        self.sent.append(params)

    def bucket(self, name: str, *, phi: bool = True, mode: str = "COMPLIANCE", days: int | None = 2555, years: int | None = None,
               lock: bool = True, key: str | None = None, kms: bool = True) -> str:  # fmt: skip
        self.s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=lock, **LOCATION)  # type: ignore[arg-type]
        if lock and (days or years):
            period = {"Days": days} if days else {"Years": years}
            self.s3.put_object_lock_configuration(
                Bucket=name, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": mode, **period}}}
            )
        if phi:
            self.s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data-class", "Value": "phi"}]})
        if kms:
            self.s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key or self.data_key}}]
                },
            )
        return name

    def run(self, event: Any) -> dict[str, Any]:
        return handler.handle(event, self.s3, self.config, region="eu-central-1", test_mode=True)

    def change(self, name: str, **kwargs: Any) -> dict[str, Any]:
        return events.config_rule_change(events.bucket_item(name, kwargs.pop("status", "OK")), parameters=self.params, **kwargs)


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()


def test_locked_versioned_data_key_bucket_is_compliant(world: World) -> None:
    world.bucket("records")
    assert world.run(world.change("records")) == {"status": "reported", "evaluations": {"records": "COMPLIANT"}}
    [call] = world.sent
    assert call["ResultToken"] == "token-abc" and call["TestMode"] is True
    [evaluation] = call["Evaluations"]
    assert evaluation["ComplianceResourceType"] == "AWS::S3::Bucket" and evaluation["ComplianceType"] == "COMPLIANT"
    assert evaluation["OrderingTimestamp"].isoformat() == "2026-11-23T08:59:00+00:00"


@pytest.mark.parametrize(
    ("settings", "annotation"),
    [
        ({"mode": "GOVERNANCE"}, "lock mode GOVERNANCE is not COMPLIANCE"),
        ({"days": 30}, "retention 30 days is below 2555"),
        ({"lock": False}, "Object Lock is not enabled; versioning is off"),
        ({"days": None}, "no default retention"),
        ({"key": "other"}, "default encryption is not SSE-KMS with the data key"),
        ({"kms": False}, "default encryption is not SSE-KMS with the data key"),
    ],
)
def test_each_shortfall_is_non_compliant_with_a_reason(world: World, settings: dict[str, Any], annotation: str) -> None:
    if settings.get("key") == "other":
        settings = {**settings, "key": world.other_key}
    world.bucket("records", **settings)
    assert world.run(world.change("records"))["evaluations"] == {"records": "NON_COMPLIANT"}
    assert world.sent[0]["Evaluations"][0]["Annotation"] == annotation


def test_retention_in_years_counts(world: World) -> None:
    world.bucket("records", days=None, years=7)
    assert world.run(world.change("records"))["evaluations"] == {"records": "COMPLIANT"}


def test_untagged_bucket_is_not_applicable(world: World) -> None:
    world.bucket("app-logs", phi=False, lock=False, kms=False)
    assert world.run(world.change("app-logs"))["evaluations"] == {"app-logs": "NOT_APPLICABLE"}


def test_deleted_or_out_of_scope_bucket_is_not_applicable(world: World) -> None:
    # The bucket still exists (and would be NON_COMPLIANT): only the ResourceDeleted status makes it NOT_APPLICABLE.
    world.bucket("gone", mode="GOVERNANCE")
    assert world.run(world.change("gone", status="ResourceDeleted"))["evaluations"] == {"gone": "NOT_APPLICABLE"}
    assert world.run(world.change("gone"))["evaluations"] == {"gone": "NON_COMPLIANT"}
    world.bucket("records", mode="GOVERNANCE")
    assert world.run(world.change("records", left_scope=True))["evaluations"] == {"records": "NOT_APPLICABLE"}
    assert world.run(world.change("vanished"))["evaluations"] == {"vanished": "NOT_APPLICABLE"}  # deleted since the change


def test_oversized_change_notification_is_evaluated(world: World) -> None:
    world.bucket("records", days=1)
    event = events.config_rule_change(
        events.bucket_item("records"), message_type="OversizedConfigurationItemChangeNotification", parameters=world.params
    )
    assert world.run(event)["evaluations"] == {"records": "NON_COMPLIANT"}


def test_periodic_run_evaluates_every_bucket_of_the_region(world: World) -> None:
    world.bucket("records")
    world.bucket("imaging", mode="GOVERNANCE")
    world.bucket("app-logs", phi=False, lock=False, kms=False)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="elsewhere")
    result = world.run(events.config_rule_change(None, message_type="ScheduledNotification", parameters=world.params))
    assert result["evaluations"] == {"records": "COMPLIANT", "imaging": "NON_COMPLIANT", "app-logs": "NOT_APPLICABLE"}


def test_periodic_run_reports_in_batches_of_100(world: World) -> None:
    for i in range(101):
        world.s3.create_bucket(Bucket=f"b{i:03d}", **LOCATION)  # type: ignore[arg-type]
    world.run(events.config_rule_change(None, message_type="ScheduledNotification", parameters=world.params))
    assert [len(call["Evaluations"]) for call in world.sent] == [100, 1]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update(ruleParameters="{}"), "lockMode None is not one of COMPLIANCE, GOVERNANCE"),
        (lambda e: e.update(ruleParameters='{"lockMode": "COMPLIANCE", "minRetentionDays": "x"}'), "minRetentionDays 'x' is not a positive integer"),
        (lambda e: e.update(ruleParameters='{"lockMode": "COMPLIANCE", "minRetentionDays": "1", "kmsKeyArn": "alias/x"}'), "is not a KMS key ARN"),
        (lambda e: e.update(invokingEvent='{"messageType": "Other"}'), "message type 'Other' is not handled"),
        (lambda e: e.update(invokingEvent="not json"), "Expecting value"),
        (lambda e: e.pop("resultToken"), "not an AWS Config rule invocation"),
    ],
)
def test_bad_invocations_are_rejected_without_a_report(world: World, mutate: Any, reason: str, caplog: pytest.LogCaptureFixture) -> None:
    world.bucket("records")
    event = world.change("records")
    mutate(event)
    result = world.run(event)
    assert result["status"] == "rejected" and reason in result["reason"]
    assert world.sent == []
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].endswith("(nothing was reported); nothing was changed")


def test_other_resource_type_is_rejected(world: World) -> None:
    item = {**events.bucket_item("x"), "resourceType": "AWS::EC2::Volume"}
    assert world.run(events.config_rule_change(item, parameters=world.params))["status"] == "rejected"


def test_lambda_handler_uses_test_mode_only_when_the_env_says_so(world: World, monkeypatch: pytest.MonkeyPatch, context: Any) -> None:
    world.bucket("records")
    dal.clients.cache_clear()
    handler.SETTINGS.clear()
    _s3, config = dal.clients()
    sent: list[dict[str, Any]] = []
    config.meta.events.register("provide-client-params.config-service.PutEvaluations", lambda params, **_: sent.append(params))
    monkeypatch.delenv("CONFIG_RULE_TEST_MODE", raising=False)
    with pytest.raises(NotImplementedError):  # moto: PutEvaluations without TestMode is not implemented
        handler.lambda_handler(world.change("records"), context)
    assert "TestMode" not in sent[0]
    monkeypatch.setenv("CONFIG_RULE_TEST_MODE", "true")
    handler.SETTINGS.clear()  # the environment is read once per execution environment
    assert handler.lambda_handler(world.change("records"), context)["evaluations"] == {"records": "COMPLIANT"}
    assert sent[1]["TestMode"] is True
    dal.clients.cache_clear()
    handler.SETTINGS.clear()


def test_key_id_or_arn_both_match() -> None:
    params = RuleParameters.parse({"lockMode": "GOVERNANCE", "minRetentionDays": "1", "kmsKeyArn": "arn:aws:kms:eu-central-1:1:key/abc"})
    state = BucketState(
        name="b",
        tags={"data-class": "phi"},
        object_lock={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}},
        versioning_status="Enabled",
        encryption_rules=[{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "abc"}}],
    )
    assert evaluate(state, params)[0] == "COMPLIANT"
    with pytest.raises(BadParameters):
        RuleParameters.parse({"lockMode": "LEGAL"})
