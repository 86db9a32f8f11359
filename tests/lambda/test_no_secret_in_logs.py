"""No secret value reaches a log line, whatever path a handler takes.

Known secret values -- a database password, a Redis AUTH token, an origin-header secret -- are put
where each handler meets them or could meet them: in Secrets Manager (moto) for the rotation
function, in the ECS task description and the custom-resource properties (Stubber) for the
migration function, in S3 object bodies, event fields and AWS error messages for the others. Every
handler then runs its success and failure paths through ``lambda_handler``, and ALL output is
collected:
- the Powertools logger's own JSON stream (every field, ``extra`` included), at DEBUG;
- every record reaching the root logger at INFO (the function's application log level; botocore's
  DEBUG wire logs are off in the deployed function as here), message and extra attributes;
- stdout/stderr at file-descriptor level (print, warnings, the runtime);
- the message and traceback of any exception leaving ``lambda_handler``: the Lambda runtime writes
  an unhandled exception's message and stack to the function's log;
- for the custom resources, the response sent to CloudFormation (its Reason shows in stack events).
The test fails if any secret value (or a generated rotation value) appears in any of it.
"""

from __future__ import annotations

import io
import json
import logging
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mv_shared.observability import logger

from . import events
from .conftest import FakeContext
from .rotation_world import SecretsWorld, clients

pytestmark = pytest.mark.requirements("R8", "R10")

DB_PASSWORD = "DbMasterPassw0rdQ7x2Lk9"
REDIS_AUTH = "RedisAuthT0kenZ4m8Np3Wq6"
ORIGIN_SECRET = "OriginHeaderS3cretB5v1Hc7"
SECRETS = (DB_PASSWORD, REDIS_AUTH, ORIGIN_SECRET)


class Capture:
    def __init__(self, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
        self.caplog = caplog
        self.capfd = capfd
        self.stream = io.StringIO()
        self.extra: list[str] = []
        self.secrets: set[str] = set(SECRETS)

    def run(self, call: Callable[[], Any]) -> Any:
        """Run one handler path; an exception leaving it is kept (as the runtime would log it)."""
        try:
            return call()
        except Exception as error:
            self.extra.append("".join(traceback.format_exception(error)))
            return None

    def text(self) -> str:
        out, err = self.capfd.readouterr()
        records = [f"{r.getMessage()} {json.dumps({k: str(v) for k, v in vars(r).items()})}" for r in self.caplog.records]
        return "\n".join([self.stream.getvalue(), out, err, *records, *self.extra])

    def assert_clean(self) -> None:
        text = self.text()
        assert text.strip(), "nothing was captured: the capture itself is broken"
        leaked = sorted(s for s in self.secrets if s and s in text)
        assert leaked == [], f"secret values in the log output: {[s[:6] + '...' for s in leaked]}"


@pytest.fixture
def capture(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[Capture]:
    result = Capture(caplog, capfd)
    handler = logger.registered_handler
    old_stream, old_level = handler.stream, logger.log_level
    handler.setStream(result.stream)
    logger.setLevel("DEBUG")
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger=logger.name)
    with mock_aws():
        yield result
    handler.setStream(old_stream)
    logger.setLevel(old_level)


# --- secret rotation: Redis AUTH token and origin header ----------------------------------------


def _group(modified: datetime, status: str = "available") -> dict[str, Any]:
    return {
        "ReplicationGroups": [
            {
                "ReplicationGroupId": "cache",
                "Status": status,
                "AuthTokenEnabled": True,
                "AuthTokenLastModifiedDate": modified,
                "PendingModifiedValues": {},
            }
        ]
    }


def _rotation_env(monkeypatch: pytest.MonkeyPatch, world: SecretsWorld, **values: str) -> None:
    from mv_secret_rotation import handler

    monkeypatch.setenv("SECRET_ARN", world.arn)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    handler.SETTINGS.clear()


def test_cache_token_rotation_logs_no_token(capture: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    from mv_secret_rotation import dal, handler

    world = SecretsWorld(REDIS_AUTH)
    elasticache = boto3.client("elasticache")
    monkeypatch.setattr(dal, "client", clients(elasticache=elasticache, secretsmanager=world.sm))
    _rotation_env(monkeypatch, world, ROTATION_TARGET="cache-auth-token", REPLICATION_GROUP_ID="cache")
    context = FakeContext()
    with Stubber(elasticache) as stub:
        token = world.begin()
        capture.run(lambda: handler.lambda_handler(world.event("createSecret", token), context))
        pending = world.value("AWSPENDING")
        capture.secrets.add(pending)
        # setSecret, failure 1: the group is busy (NotReady).
        stub.add_response("describe_replication_groups", _group(datetime(2026, 1, 1, tzinfo=UTC), status="modifying"))
        capture.run(lambda: handler.lambda_handler(world.event("setSecret", token), context))
        # setSecret, failure 2: ElastiCache refuses the token and quotes it back (a validation error).
        stub.add_response("describe_replication_groups", _group(datetime(2026, 1, 1, tzinfo=UTC)))
        stub.add_client_error(
            "modify_replication_group", "InvalidParameterValue", f"Value '{pending}' at 'authToken' failed to satisfy constraint", 400
        )
        capture.run(lambda: handler.lambda_handler(world.event("setSecret", token), context))
        # setSecret succeeds; testSecret fails once (not yet applied), then passes; finishSecret.
        stub.add_response("describe_replication_groups", _group(datetime(2026, 1, 1, tzinfo=UTC)))
        stub.add_response("modify_replication_group", {"ReplicationGroup": {"ReplicationGroupId": "cache"}})
        capture.run(lambda: handler.lambda_handler(world.event("setSecret", token), context))
        stub.add_response("describe_replication_groups", _group(datetime(2026, 1, 1, tzinfo=UTC)))
        capture.run(lambda: handler.lambda_handler(world.event("testSecret", token), context))
        stub.add_response("describe_replication_groups", _group(datetime.now(UTC) + timedelta(minutes=5)))
        capture.run(lambda: handler.lambda_handler(world.event("testSecret", token), context))
        capture.run(lambda: handler.lambda_handler(world.event("finishSecret", token), context))
        stub.assert_no_pending_responses()
    assert world.value("AWSCURRENT") == pending and world.value("AWSPREVIOUS") == REDIS_AUTH  # the paths really ran
    # Refused and malformed events.
    capture.run(lambda: handler.lambda_handler(world.event("setSecret", "not-a-version"), context))
    capture.run(lambda: handler.lambda_handler({"SecretId": world.arn, "Step": "setSecret", "Token": REDIS_AUTH}, context))
    capture.assert_clean()


def test_origin_header_rotation_logs_no_header_value(capture: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    from mv_secret_rotation import dal, handler

    from .test_secret_rotation_origin import HEADER, PARAMETER, World

    world = World()  # initial value: test_secret_rotation_origin.INITIAL
    capture.secrets.add(world.value("AWSCURRENT"))
    # The secret's current value is the known origin secret.
    world.sm.put_secret_value(SecretId=world.arn, SecretString=ORIGIN_SECRET)
    world.elbv2.modify_rule(
        RuleArn=world.rule_arn, Conditions=[{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": HEADER, "Values": [ORIGIN_SECRET]}}]
    )
    current = world.cloudfront.get_distribution_config(Id=world.distribution_id)
    config, etag = current["DistributionConfig"], current["ETag"]
    config["Origins"]["Items"][0]["CustomHeaders"]["Items"][0]["HeaderValue"] = ORIGIN_SECRET
    world.cloudfront.update_distribution(Id=world.distribution_id, IfMatch=etag, DistributionConfig=config)
    monkeypatch.setattr(dal, "client", clients(secretsmanager=world.sm, elbv2=world.elbv2, cloudfront=world.cloudfront, ssm=world.ssm))
    _rotation_env(
        monkeypatch,
        world,
        ROTATION_TARGET="origin-header",
        LISTENER_RULE_ARN=world.rule_arn,
        HEADER_NAME=HEADER,
        ORIGIN_DOMAIN=world.domain,
        DISTRIBUTION_PARAMETER=PARAMETER,
    )
    context = FakeContext()
    token = world.begin()
    capture.run(lambda: handler.lambda_handler(world.event("createSecret", token), context))
    pending = world.value("AWSPENDING")
    capture.secrets.add(pending)
    # setSecret, failure: CloudFront refuses the update and quotes the header value back.
    current = world.cloudfront.get_distribution_config(Id=world.distribution_id)
    current.pop("ResponseMetadata")
    with Stubber(world.cloudfront) as stub:
        stub.add_response("get_distribution_config", current)
        stub.add_client_error("update_distribution", "InvalidArgument", f"The header value {pending} is not valid", 400)
        capture.run(lambda: handler.lambda_handler(world.event("setSecret", token), context))
    for step in ("setSecret", "testSecret", "finishSecret"):
        capture.run(lambda step=step: handler.lambda_handler(world.event(step, token), context))
    assert world.value("AWSCURRENT") == pending and world.value("AWSPREVIOUS") == ORIGIN_SECRET  # the paths really ran
    capture.assert_clean()


# --- database migration: the DB password --------------------------------------------------------


def test_db_migration_logs_no_password(capture: Capture, responses: list[dict[str, Any]]) -> None:
    from mv_db_migration import dal, handler

    from .test_db_migration import CLUSTER, PROPS, TASK, _Context, _event, _expect_run, _stopped

    # The password where an operator might put it: an ignored property, and the task's environment
    # as ECS describes it (a task definition that passed it as a plain variable).
    props = {**PROPS, "MasterUserPassword": DB_PASSWORD}
    env = {"containerOverrides": [{"name": "migrate", "environment": [{"name": "DATABASE_PASSWORD", "value": DB_PASSWORD}]}]}

    def described(status: str, **task: Any) -> dict[str, Any]:
        return {"tasks": [{"taskArn": TASK, "lastStatus": status, "overrides": env, **task}], "failures": []}

    with Stubber(dal.client()) as stub:
        for exit_code in (0, 1, None):  # success, a failed migration, a container that never ran
            _expect_run(stub)
            stub.add_response("describe_tasks", described("STOPPED", **_stopped(exit_code)), {"cluster": CLUSTER, "tasks": [TASK]})
            capture.run(lambda: handler.lambda_handler({**_event("Create"), "ResourceProperties": props}, _Context()))
        _expect_run(stub)
        stub.add_client_error("describe_tasks", "AccessDeniedException", "not authorized", 400)
        capture.run(lambda: handler.lambda_handler({**_event("Create"), "ResourceProperties": props}, _Context()))
        stub.add_response("run_task", {"tasks": [], "failures": [{"arn": TASK, "reason": "RESOURCE:MEMORY"}]})
        capture.run(lambda: handler.lambda_handler({**_event("Create"), "ResourceProperties": props}, _Context()))
        stub.assert_no_pending_responses()
    capture.run(lambda: handler.lambda_handler({**_event("Create"), "ResourceProperties": {**props, "Subnets": []}}, _Context()))
    capture.run(lambda: handler.lambda_handler({"RequestType": "Create", "MasterUserPassword": DB_PASSWORD}, _Context()))
    assert [r["Status"] for r in responses] == ["SUCCESS", "FAILED", "FAILED", "FAILED", "FAILED", "FAILED"]  # the paths really ran
    capture.extra.append(json.dumps(responses))
    capture.assert_clean()


# --- the other handlers: secrets in object bodies, event fields and error messages --------------


EVERY = {"password": DB_PASSWORD, "authToken": REDIS_AUTH, "originSecret": ORIGIN_SECRET}
# Events no handler accepts, each carrying the secrets in fields the handler does not use.
ODD_EVENTS = (
    EVERY,
    [DB_PASSWORD],
    {"source": "aws.guardduty", "detail-type": "Nonsense", **EVERY},
    {"source": "aws.events", "detail-type": "Not Scheduled", "detail": EVERY},
)


def _run_findings_notifier(capture: Capture, monkeypatch: pytest.MonkeyPatch, context: FakeContext) -> None:
    """Findings notifier: a finding published, a repeat, a rejected input."""
    from mv_findings_notifier import dal as notifier_dal
    from mv_findings_notifier import handler as notifier

    sns, dynamodb = boto3.client("sns"), boto3.client("dynamodb")
    topic = sns.create_topic(Name="security")["TopicArn"]
    key = [{"AttributeName": "pk", "KeyType": "HASH"}]
    dynamodb.create_table(
        TableName="seen", KeySchema=key, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST"
    )
    monkeypatch.setenv("TOPIC_ARN", topic)
    monkeypatch.setenv("TABLE_NAME", "seen")
    monkeypatch.setattr(notifier_dal, "clients", lambda: (sns, dynamodb))
    notifier.SETTINGS.clear()
    finding = events.guardduty(service={"additionalInfo": EVERY})
    assert capture.run(lambda: notifier.lambda_handler(finding, context))["status"] == "published"
    capture.run(lambda: notifier.lambda_handler(finding, context))
    with Stubber(dynamodb) as stub:
        stub.add_client_error("put_item", "AccessDeniedException", "KMS key access denied", 400)
        capture.run(lambda: notifier.lambda_handler(events.guardduty(updatedAt="later", service={"additionalInfo": EVERY}), context))
    for event in ODD_EVENTS:
        capture.run(lambda event=event: notifier.lambda_handler(event, context))
    notifier.SETTINGS.clear()


def _run_macie_quarantine(capture: Capture, monkeypatch: pytest.MonkeyPatch, context: FakeContext) -> None:
    """Macie quarantine: an object whose body is a secret, moved; denied; rejected."""
    from mv_macie_quarantine import dal as quarantine_dal
    from mv_macie_quarantine import handler as quarantine

    from .test_macie_quarantine import PHI, QUARANTINE, SOURCE, World, _head_denied

    world = World()
    monkeypatch.setenv("QUARANTINE_BUCKET", QUARANTINE)
    monkeypatch.setenv("QUARANTINE_KEY_ARN", world.key_arn)
    monkeypatch.setenv("TOPIC_ARN", world.topic_arn)
    monkeypatch.setenv("PROTECTED_BUCKETS", PHI)
    monkeypatch.setenv("PHI_TAG", "data-class=phi")
    monkeypatch.setattr(quarantine_dal, "clients", lambda: (world.s3, world.sns))
    quarantine.SETTINGS.clear()
    version = world.put(body=f"db={DB_PASSWORD}\nredis={REDIS_AUTH}\norigin={ORIGIN_SECRET}\n".encode())
    assert capture.run(lambda: quarantine.lambda_handler(world.event(version=version), context))["status"] == "quarantined"
    again = world.put(body=DB_PASSWORD.encode())
    world.s3.meta.events.register("provide-client-params.s3.HeadObject", _head_denied(SOURCE))
    capture.run(lambda: quarantine.lambda_handler(world.event(version=again), context))
    for event in ODD_EVENTS:
        capture.run(lambda event=event: quarantine.lambda_handler(event, context))
    quarantine.SETTINGS.clear()


def _run_rejecting_handlers(capture: Capture, context: FakeContext, responses: list[dict[str, Any]]) -> None:
    """PHI bucket rule, DR readiness, Macie job: rejected events carrying secrets in unused fields."""
    from mv_dr_readiness import handler as readiness
    from mv_macie_job import handler as macie_job
    from mv_phi_bucket_rule import handler as phi_rule

    from .test_mv_macie_job import _event as macie_event

    bad_rule = {**events.config_rule_change(events.bucket_item("b"), parameters={"lockMode": "LEGAL", "password": DB_PASSWORD}), **EVERY}
    for event in [bad_rule, *ODD_EVENTS]:
        capture.run(lambda event=event: phi_rule.lambda_handler(event, context))
        capture.run(lambda event=event: readiness.lambda_handler(event, context))
        capture.run(lambda event=event: macie_job.lambda_handler(event, context))
    capture.run(lambda: macie_job.lambda_handler({**macie_event("Create"), "ResourceProperties": {"AuthToken": REDIS_AUTH}}, context))
    assert responses and responses[-1]["Status"] == "FAILED"


def test_event_driven_handlers_log_no_secret_on_any_path(capture: Capture, monkeypatch: pytest.MonkeyPatch, responses: list[dict[str, Any]]) -> None:
    context = FakeContext()
    _run_findings_notifier(capture, monkeypatch, context)
    _run_macie_quarantine(capture, monkeypatch, context)
    _run_rejecting_handlers(capture, context, responses)
    capture.extra.append(json.dumps(responses))
    capture.assert_clean()
