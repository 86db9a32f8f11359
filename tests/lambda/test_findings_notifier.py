"""Findings notifier under moto: SNS (read back through an SQS subscription) and DynamoDB."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mv_findings_notifier import dal, handler
from mv_findings_notifier.logic import UnrecognisedEvent, guardduty_severity, to_notice
from mv_shared.settings import SettingsError, load

from . import events

pytestmark = pytest.mark.requirements("R11", "R14")

TABLE = "findings-seen"


class World:
    def __init__(self) -> None:
        self.sns = boto3.client("sns")
        self.sqs = boto3.client("sqs")
        self.dynamodb = boto3.client("dynamodb")
        self.topic_arn = self.sns.create_topic(Name="security")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.settings = handler.Settings(topic_arn=self.topic_arn, table_name=TABLE, remember_days=90)

    def notifier(self) -> handler.Notifier:
        return handler.build_notifier(self.settings, self.sns, self.dynamodb)

    def received(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return messages
            for m in batch:
                messages.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def claims(self) -> list[str]:
        return sorted(i["pk"]["S"] for i in self.dynamodb.scan(TableName=TABLE)["Items"])


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()


def test_guardduty_finding_becomes_one_readable_message(world: World) -> None:
    result = world.notifier().handle(events.guardduty())
    assert result == {"status": "published", "key": "GuardDuty#16afba5c5c43e07c9e3e5e2e544e95df#2026-11-23T09:59:00.000Z"}
    [message] = world.received()
    assert message["Subject"] == "[HIGH] GuardDuty: An S3 API was invoked from a Tor exit node. (UnauthorizedAccess:S3/TorIPCaller)"
    body = message["Message"].splitlines()
    assert body[1:5] == ["Severity: HIGH", "Resource: S3Bucket", "Account:  123456789012", "Region:   eu-central-1"]
    assert (
        body[5]
        == "Console:  https://eu-central-1.console.aws.amazon.com/guardduty/home?region=eu-central-1#/findings?fId=16afba5c5c43e07c9e3e5e2e544e95df"
    )


def test_macie_config_and_backup_events_each_become_a_message(world: World) -> None:
    notifier = world.notifier()
    assert notifier.handle(events.macie())["status"] == "published"
    assert notifier.handle(events.config_change())["status"] == "published"
    assert notifier.handle(events.backup_job())["status"] == "published"
    subjects = [m["Subject"] for m in world.received()]
    assert subjects == [
        "[HIGH] Macie: The S3 object contains personal information. (SensitiveData:S3Object/Personal)",
        "[MEDIUM] Config: AWS::S3::Bucket is NON_COMPLIANT with rule s3-bucket-ssl-requests-only",
        "[HIGH] Backup: Backup job FAILED: Access denied to the KMS key",
    ]


def test_message_names_resource_for_macie_and_backup() -> None:
    macie = to_notice(events.macie())
    assert macie is not None and macie.resource == "s3://medivault-uploads/incoming/scan 0001.pdf"
    backup = to_notice(events.backup_job())
    assert backup is not None and backup.resource == "arn:aws:rds:eu-central-1:123456789012:cluster:medivault"
    assert backup.console_link.endswith("#/jobs/backup/details/4b1c2d3e-aaaa-bbbb-cccc-ddddeeeeffff")
    copy_job = events.envelope("aws.backup", "Copy Job State Change", {"copyJobId": "c-1", "state": "FAILED", "resourceArn": "arn:x"})
    notice = to_notice(copy_job)
    assert notice is not None and notice.what == "Copy job FAILED" and "#/jobs/copy/details/c-1" in notice.console_link


def test_repeated_delivery_is_published_once(world: World) -> None:
    notifier = world.notifier()
    assert notifier.handle(events.guardduty())["status"] == "published"
    assert notifier.handle(events.guardduty())["status"] == "duplicate"
    # EventBridge retries carry the same finding under another event id: still the same finding.
    again = events.guardduty()
    again["id"] = "another-delivery"
    assert notifier.handle(again)["status"] == "duplicate"
    assert len(world.received()) == 1


def test_an_updated_finding_is_news_again(world: World) -> None:
    notifier = world.notifier()
    notifier.handle(events.guardduty())
    assert notifier.handle(events.guardduty(updatedAt="2026-11-23T11:00:00.000Z", severity=9.5))["status"] == "published"
    assert [m["Subject"][:11] for m in world.received()] == ["[HIGH] Guar", "[CRITICAL] "]


def test_compliant_changes_and_successful_jobs_are_ignored(world: World) -> None:
    notifier = world.notifier()
    compliant = events.config_change(newEvaluationResult={"complianceType": "COMPLIANT", "resultRecordedTime": "t"})
    assert notifier.handle(compliant) == {"status": "ignored"}
    assert notifier.handle(events.backup_job(state="COMPLETED")) == {"status": "ignored"}
    assert world.received() == []
    assert world.claims() == []


def test_publish_failure_releases_the_claim_so_the_retry_delivers(world: World) -> None:
    broken = handler.build_notifier(
        handler.Settings(topic_arn=world.topic_arn + "-missing", table_name=TABLE, remember_days=90), world.sns, world.dynamodb
    )
    with pytest.raises(Exception, match=r"NotFound|does not exist"):
        broken.handle(events.guardduty())
    assert world.claims() == []  # a retry (Lambda async retry, then the DLQ) is not mistaken for a repeat
    assert world.notifier().handle(events.guardduty())["status"] == "published"
    assert len(world.received()) == 1


def test_unrecognised_envelope_is_logged_and_forwarded_once(world: World, caplog: pytest.LogCaptureFixture) -> None:
    odd = events.envelope("aws.securityhub", "Security Hub Findings - Imported", {"findings": []})
    assert world.notifier().handle(odd) == {"status": "unrecognised-forwarded", "key": f"unrecognised#{odd['id']}"}
    assert world.notifier().handle(odd)["status"] == "duplicate"
    [message] = world.received()
    assert message["Subject"] == "[UNKNOWN] Unrecognised security event from aws.securityhub"
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 2
    assert errors[0].startswith("unrecognised security event forwarded as is: no notice for source 'aws.securityhub'")


def test_known_source_with_a_broken_detail_is_forwarded_not_dropped(world: World) -> None:
    broken = events.guardduty(severity="high")
    assert world.notifier().handle(broken)["status"] == "unrecognised-forwarded"
    [message] = world.received()
    assert "Problem:     detail.severity of a GuardDuty finding is not a number" in message["Message"]


@pytest.mark.parametrize("event", [None, "text", [], {"source": "aws.guardduty"}])
def test_non_eventbridge_input_is_rejected_with_one_error_line(world: World, event: Any, caplog: pytest.LogCaptureFixture) -> None:
    result = world.notifier().handle(event)
    assert result["status"] == "rejected"
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "rejected: not an EventBridge event" in errors[0]
    assert world.received() == [] and world.claims() == []


def test_lambda_handler_end_to_end(world: World, monkeypatch: pytest.MonkeyPatch, context: Any) -> None:
    monkeypatch.setenv("TOPIC_ARN", world.topic_arn)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    dal.clients.cache_clear()
    handler.SETTINGS.clear()
    assert handler.lambda_handler(events.macie(), context)["status"] == "published"
    assert handler.lambda_handler(events.macie(), context)["status"] == "duplicate"
    dal.clients.cache_clear()
    handler.SETTINGS.clear()
    item = world.dynamodb.scan(TableName=TABLE)["Items"][0]
    assert item["pk"]["S"] == "Macie#64b917aa3b1c4a3b8d2b4b5a0b8f6e1a#2026-11-23T09:51:00.000Z"
    # Remembered for REMEMBER_DAYS (default), then DynamoDB's TTL forgets it.
    expected = time.time() + handler.DEFAULT_REMEMBER_DAYS * 86400
    assert abs(int(item["expires_at"]["N"]) - expected) < 120


def test_settings_are_validated() -> None:
    with pytest.raises(SettingsError, match=r"^mv_findings_notifier: environment variables TOPIC_ARN, TABLE_NAME missing or empty$"):
        load(handler.Settings, {})
    with pytest.raises(SettingsError, match=r"^mv_findings_notifier: environment variable REMEMBER_DAYS='0' is not a positive integer$"):
        load(handler.Settings, {"TOPIC_ARN": "a", "TABLE_NAME": "b", "REMEMBER_DAYS": "0"})
    assert load(handler.Settings, {"TOPIC_ARN": "a", "TABLE_NAME": "b"}).remember_days == handler.DEFAULT_REMEMBER_DAYS


@pytest.mark.parametrize(
    ("score", "band"), [(1.0, "LOW"), (3.9, "LOW"), (4.0, "MEDIUM"), (6.9, "MEDIUM"), (7.0, "HIGH"), (8.9, "HIGH"), (9.0, "CRITICAL")]
)
def test_guardduty_severity_bands(score: float, band: str) -> None:
    assert guardduty_severity(score) == band


def test_subject_is_sns_safe() -> None:
    notice = to_notice(events.guardduty(title="Ümlaut " + "x" * 200))
    assert notice is not None
    assert len(notice.subject) == 100 and notice.subject.isascii() and notice.subject.endswith("...")
    with pytest.raises(UnrecognisedEvent, match=r"event.detail is missing"):
        to_notice({**events.guardduty(), "detail": None})


def test_the_same_config_finding_in_two_regions_is_two_messages(world: World) -> None:
    """The DR and edge detection stacks forward their Config findings to this notifier
    (docs/audit.md, "Detection in every region"): the same rule on the same account-level resource,
    recorded at the same moment in two regions, is two findings, each with its own region's console."""
    notifier = world.notifier()
    account_level = {"resourceType": "AWS::::Account", "resourceId": events.ACCOUNT, "configRuleName": "guardduty-enabled-centralized"}
    primary = events.config_change(**account_level)
    dr = events.config_change(**account_level, awsRegion="eu-west-1")
    dr["region"] = "eu-west-1"
    assert notifier.handle(primary)["status"] == "published"
    result = notifier.handle(dr)
    assert result["status"] == "published"
    assert result["key"].startswith("Config#eu-west-1/guardduty-enabled-centralized/AWS::::Account/")
    assert notifier.handle(dr)["status"] == "duplicate"
    messages = world.received()
    assert len(messages) == 2
    assert "https://eu-west-1.console.aws.amazon.com/config/home?region=eu-west-1#/rules/details" in messages[1]["Message"]


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "AccessDeniedException", "InternalServerError"],
)
def test_a_claim_that_fails_for_any_other_reason_raises_instead_of_dropping_the_finding(
    world: World, code: str, caplog: pytest.LogCaptureFixture, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only ConditionalCheckFailedException proves a repeat (DynamoDB PutItem errors,
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html#API_PutItem_Errors).
    Throttling or a key-policy mistake read as "duplicate" would drop GuardDuty/Macie/Config/Backup
    findings silently; raised, the invocation fails and EventBridge's retries and then the
    dead-letter queue keep the event."""
    from botocore.exceptions import ClientError
    from botocore.stub import Stubber

    with Stubber(world.dynamodb) as stub:
        stub.add_client_error("put_item", service_error_code=code, http_status_code=400)
        with pytest.raises(ClientError, match=code):
            world.notifier().handle(events.guardduty())
        stub.assert_no_pending_responses()
    assert world.received() == [] and world.claims() == []
    assert not any("repeat of a finding" in r.getMessage() for r in caplog.records)
    # Through the Lambda entry point the invocation fails too (nothing swallows it).
    monkeypatch.setenv("TOPIC_ARN", world.topic_arn)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    handler.SETTINGS.clear()
    monkeypatch.setattr(dal, "clients", lambda: (world.sns, world.dynamodb))
    with Stubber(world.dynamodb) as stub:
        stub.add_client_error("put_item", service_error_code=code, http_status_code=400)
        with pytest.raises(ClientError, match=code):
            handler.lambda_handler(events.guardduty(), context)
    handler.SETTINGS.clear()
    assert world.received() == []
    # The retry, once DynamoDB answers again, delivers the finding.
    assert world.notifier().handle(events.guardduty())["status"] == "published"


def test_only_a_failed_condition_is_a_duplicate() -> None:
    """The claim table on its own: ConditionalCheckFailedException -> False, anything else raises."""
    from botocore.exceptions import ClientError
    from botocore.stub import Stubber

    dynamodb = boto3.client("dynamodb")
    table = dal.ClaimTable(dynamodb, TABLE)
    with Stubber(dynamodb) as stub:
        stub.add_client_error("put_item", service_error_code="ConditionalCheckFailedException", http_status_code=400)
        stub.add_client_error("put_item", service_error_code="ValidationException", http_status_code=400)
        stub.add_response("put_item", {})
        assert table.claim("k", 1) is False
        with pytest.raises(ClientError, match="ValidationException"):
            table.claim("k", 1)
        assert table.claim("k", 1) is True
