"""DR-readiness checker: moto for CloudWatch, botocore Stubber for AWS Backup.

moto 5.2.5 does not implement AWS Backup recovery points (ListRecoveryPointsByResource /
ListRecoveryPointsByBackupVault), so those two calls are answered by ``botocore.stub.Stubber`` on
the handler's own clients; CloudWatch ``put_metric_data`` goes to moto and is read back from it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mv_dr_readiness import dal
from mv_shared.settings import SettingsError

pytestmark = pytest.mark.requirements("R15")

ACCOUNT = "123456789012"
DB = f"arn:aws:rds:eu-central-1:{ACCOUNT}:cluster:medivault-db"
RECORDS = "arn:aws:s3:::medivault-records"
PRIMARY_VAULT = "medivault-production-primary"
DR_VAULT = "medivault-production-dr"
NAMESPACE = "MediVault/DR"
SCHEDULE = {"version": "0", "id": "e1", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}, "account": ACCOUNT,
            "time": "2026-11-23T09:00:00Z", "region": "eu-central-1", "resources": [], }  # fmt: skip


class Context:
    function_name = "mv_dr_readiness"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:eu-central-1:{ACCOUNT}:function:mv_dr_readiness"
    aws_request_id = "req-1"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PRIMARY_VAULT_NAME": PRIMARY_VAULT,
        "DR_VAULT_NAME": DR_VAULT,
        "DR_REGION": "eu-west-1",
        "PROTECTED_RESOURCE_ARNS": f'["{DB}", "{RECORDS}"]',
        "PRIMARY_MAX_AGE_HOURS": "26",
        "COPY_MAX_AGE_HOURS": "30",
        "METRIC_NAMESPACE": NAMESPACE,
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def handler(env: None) -> Iterator[ModuleType]:
    with mock_aws():
        module = importlib.import_module("mv_dr_readiness.handler")
        # Settings and clients are made on first use: each test starts without them.
        module.SETTINGS.clear()
        dal.backup.cache_clear()
        dal.cloudwatch.cache_clear()
        yield module
        module.SETTINGS.clear()
        dal.backup.cache_clear()
        dal.cloudwatch.cache_clear()


def _ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def _by_resource(arn: str, vault: str, hours: float, status: str = "COMPLETED", kind: str = "") -> dict[str, Any]:
    rp = f"arn:aws:backup:eu-central-1:{ACCOUNT}:recovery-point:{kind}{abs(hash((arn, vault, hours, kind)))}"
    return {"RecoveryPointArn": rp, "CreationDate": _ago(hours), "Status": status, "BackupVaultName": vault}


def _in_vault(arn: str, hours: float, status: str = "COMPLETED") -> dict[str, Any]:
    rp = f"arn:aws:backup:eu-west-1:{ACCOUNT}:recovery-point:{abs(hash((arn, hours)))}"
    return {"RecoveryPointArn": rp, "BackupVaultName": DR_VAULT, "ResourceArn": arn, "CreationDate": _ago(hours), "Status": status}


class Backup:
    """Queues Stubber answers on the handler's two Backup clients, in call order (resource by resource)."""

    def __init__(self, handler: ModuleType) -> None:
        self.primary = Stubber(dal.backup())
        self.dr = Stubber(dal.backup("eu-west-1"))

    def primary_pages(self, arn: str, *pages: list[dict[str, Any]]) -> None:
        for i, points in enumerate(pages):
            params: dict[str, Any] = {"ResourceArn": arn} | ({"NextToken": f"p{i}"} if i else {})
            response: dict[str, Any] = {"RecoveryPoints": points} | ({"NextToken": f"p{i + 1}"} if i + 1 < len(pages) else {})
            self.primary.add_response("list_recovery_points_by_resource", response, params)

    def dr_pages(self, arn: str, *pages: list[dict[str, Any]]) -> None:
        for i, points in enumerate(pages):
            params: dict[str, Any] = {"BackupVaultName": DR_VAULT, "ByResourceArn": arn} | ({"NextToken": f"d{i}"} if i else {})
            response: dict[str, Any] = {"RecoveryPoints": points} | ({"NextToken": f"d{i + 1}"} if i + 1 < len(pages) else {})
            self.dr.add_response("list_recovery_points_by_backup_vault", response, params)

    def __enter__(self) -> Backup:
        self.primary.activate()
        self.dr.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.primary.assert_no_pending_responses()
        self.dr.assert_no_pending_responses()
        self.primary.deactivate()
        self.dr.deactivate()


def _metric(name: str, arn: str) -> float | None:
    cloudwatch = boto3.client("cloudwatch", region_name="eu-central-1")
    stats = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=name,
        Dimensions=[{"Name": "ResourceArn", "Value": arn}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(hours=1),
        Period=3600,
        Statistics=["Maximum"],
    )["Datapoints"]
    return float(stats[0]["Maximum"]) if stats else None


def test_fresh_backups_and_copies_are_ready(handler: ModuleType) -> None:
    with Backup(handler) as backup:
        backup.primary_pages(DB, [_by_resource(DB, PRIMARY_VAULT, 8)])
        backup.dr_pages(DB, [_in_vault(DB, 7)])
        backup.primary_pages(RECORDS, [_by_resource(RECORDS, PRIMARY_VAULT, 25.5)])
        backup.dr_pages(RECORDS, [_in_vault(RECORDS, 29.5)])
        result = handler.lambda_handler(SCHEDULE, Context())
    assert result == {"status": "checked", "resources": 2, "ready": [DB, RECORDS], "not_ready": {}}
    assert _metric("DrReady", DB) == 1.0
    assert _metric("DrReady", RECORDS) == 1.0
    assert _metric("PrimaryRecoveryPointAgeHours", DB) == pytest.approx(8, abs=0.01)
    assert _metric("DrCopyAgeHours", RECORDS) == pytest.approx(29.5, abs=0.01)


def test_paging_finds_the_newest_point_on_a_later_page(handler: ModuleType) -> None:
    with Backup(handler) as backup:
        backup.primary_pages(DB, [_by_resource(DB, PRIMARY_VAULT, 50)], [_by_resource(DB, PRIMARY_VAULT, 74)], [_by_resource(DB, PRIMARY_VAULT, 2)])
        backup.dr_pages(DB, [_in_vault(DB, 60)], [_in_vault(DB, 3)])
        backup.primary_pages(RECORDS, [_by_resource(RECORDS, PRIMARY_VAULT, 30)], [])
        backup.dr_pages(RECORDS, [], [_in_vault(RECORDS, 4)])
        result = handler.lambda_handler(SCHEDULE, Context())
    assert result["ready"] == [DB]
    assert result["not_ready"] == {RECORDS: ["primary recovery point is 30.0 h old"]}
    assert _metric("PrimaryRecoveryPointAgeHours", DB) == pytest.approx(2, abs=0.01)
    assert _metric("DrCopyAgeHours", DB) == pytest.approx(3, abs=0.01)


def test_empty_vaults_are_not_ready_and_publish_no_age(handler: ModuleType) -> None:
    with Backup(handler) as backup:
        for arn in (DB, RECORDS):
            backup.primary_pages(arn, [])
            backup.dr_pages(arn, [])
        result = handler.lambda_handler(SCHEDULE, Context())
    assert result["ready"] == []
    assert result["not_ready"][DB] == ["no recovery point in the primary vault", "no copy in the DR vault"]
    assert _metric("DrReady", DB) == 0.0
    assert _metric("DrReady", RECORDS) == 0.0
    assert _metric("PrimaryRecoveryPointAgeHours", DB) is None
    assert _metric("DrCopyAgeHours", DB) is None


def test_missing_copies_are_not_ready(handler: ModuleType) -> None:
    with Backup(handler) as backup:
        backup.primary_pages(DB, [_by_resource(DB, PRIMARY_VAULT, 5)])
        backup.dr_pages(DB, [])
        backup.primary_pages(RECORDS, [_by_resource(RECORDS, PRIMARY_VAULT, 5)])
        backup.dr_pages(RECORDS, [_in_vault(RECORDS, 6, status="PARTIAL"), _in_vault(RECORDS, 7, status="CREATING")])
        result = handler.lambda_handler(SCHEDULE, Context())
    assert result["not_ready"] == {DB: ["no copy in the DR vault"], RECORDS: ["no copy in the DR vault"]}
    assert _metric("DrReady", DB) == 0.0
    assert _metric("PrimaryRecoveryPointAgeHours", DB) == pytest.approx(5, abs=0.01)


def test_stale_copies_and_stale_primaries_are_not_ready(handler: ModuleType) -> None:
    with Backup(handler) as backup:
        backup.primary_pages(DB, [_by_resource(DB, PRIMARY_VAULT, 10)])
        backup.dr_pages(DB, [_in_vault(DB, 30.5), _in_vault(DB, 54)])
        backup.primary_pages(RECORDS, [_by_resource(RECORDS, PRIMARY_VAULT, 26.5)])
        backup.dr_pages(RECORDS, [_in_vault(RECORDS, 28)])
        result = handler.lambda_handler(SCHEDULE, Context())
    assert result["not_ready"] == {DB: ["DR copy is 30.5 h old"], RECORDS: ["primary recovery point is 26.5 h old"]}
    assert _metric("DrReady", DB) == 0.0
    assert _metric("DrCopyAgeHours", DB) == pytest.approx(30.5, abs=0.01)


def test_other_vaults_continuous_and_unusable_points_do_not_count(handler: ModuleType) -> None:
    with Backup(handler) as backup:
        backup.primary_pages(
            DB,
            [
                _by_resource(DB, "some-other-vault", 1),  # not our vault
                _by_resource(DB, PRIMARY_VAULT, 0.5, kind="continuous:"),  # PITR point, updated in place
                _by_resource(DB, PRIMARY_VAULT, 1.5, status="EXPIRED"),
                _by_resource(DB, PRIMARY_VAULT, 40),
            ],
        )
        backup.dr_pages(DB, [_in_vault(DB, 2)])
        backup.primary_pages(RECORDS, [_by_resource(RECORDS, PRIMARY_VAULT, 1)])
        backup.dr_pages(RECORDS, [_in_vault(RECORDS, 2)])
        result = handler.lambda_handler(SCHEDULE, Context())
    assert result["not_ready"] == {DB: ["primary recovery point is 40.0 h old"]}


def test_an_api_error_counts_the_resource_as_not_ready_and_checks_the_rest(handler: ModuleType) -> None:
    with Backup(handler) as backup:
        backup.primary.add_client_error(
            "list_recovery_points_by_resource", "AccessDeniedException", "denied", 400, expected_params={"ResourceArn": DB}
        )
        backup.primary_pages(RECORDS, [_by_resource(RECORDS, PRIMARY_VAULT, 1)])
        backup.dr_pages(RECORDS, [_in_vault(RECORDS, 2)])
        result = handler.lambda_handler(SCHEDULE, Context())
    assert result["ready"] == [RECORDS]
    assert result["not_ready"] == {DB: ["no recovery point in the primary vault", "no copy in the DR vault"]}
    assert _metric("DrReady", DB) == 0.0


@pytest.mark.parametrize("event", [{}, {"source": "aws.s3", "detail-type": "Object Created"}, {"source": "aws.events", "detail-type": "Other"}])
def test_an_unexpected_event_is_rejected_with_one_error_and_checks_nothing(
    handler: ModuleType, event: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with Backup(handler):  # no answers queued: any Backup call would raise
        result = handler.lambda_handler(event, Context())
    assert result == {"status": "rejected", "reason": "not an EventBridge scheduled event"}
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].startswith("rejected: not an EventBridge scheduled event")
    assert boto3.client("cloudwatch", region_name="eu-central-1").list_metrics(Namespace=NAMESPACE)["Metrics"] == []


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PRIMARY_VAULT_NAME", "", "missing or empty"),
        ("PROTECTED_RESOURCE_ARNS", "not json", "is not a JSON list"),
        ("PROTECTED_RESOURCE_ARNS", "[]", "non-empty JSON list of ARNs"),
        ("PROTECTED_RESOURCE_ARNS", '["bucket-name"]', "non-empty JSON list of ARNs"),
        ("COPY_MAX_AGE_HOURS", "soon", "is not a number of hours"),
        ("PRIMARY_MAX_AGE_HOURS", "0", "outside 0 < hours <= 168"),
    ],
)
def test_bad_environment_fails_the_first_invocation_with_a_clear_message(
    handler: ModuleType, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with Backup(handler), pytest.raises(SettingsError, match=f"mv_dr_readiness: environment variable {name}.*{message}"):
        handler.lambda_handler(SCHEDULE, Context())


def test_metrics_are_sent_in_chunks_cloudwatch_accepts() -> None:
    from mv_dr_readiness.dal import put_metrics

    calls: list[int] = []

    class FakeCloudWatch:
        def put_metric_data(self, Namespace: str, MetricData: list[dict[str, object]]) -> None:
            calls.append(len(MetricData))

    assert put_metrics(FakeCloudWatch(), NAMESPACE, [{"MetricName": "x"}] * 2001) == 2001
    assert calls == [1000, 1000, 1]
