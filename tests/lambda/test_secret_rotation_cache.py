"""Cache AUTH-token rotation (lambda/mv_secret_rotation, target ``cache-auth-token``), in-process.

Secrets Manager runs under moto. moto 5.2's ElastiCache ModifyReplicationGroup ignores AuthToken and
AuthTokenUpdateStrategy (it records no token change, never enters "modifying" and never moves
AuthTokenLastModifiedDate), so it cannot show what this function depends on. The ElastiCache calls go
through botocore's Stubber instead: each test states exactly which calls it expects and with which
parameters, and an unexpected one (a second ROTATE on a retry) fails the test.

AWS behaviour encoded: ROTATE keeps the current token valid next to the new one, SET would drop it
(ElastiCache user guide, https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html);
the version checks of Secrets Manager's rotation templates
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mv_secret_rotation import dal, handler
from mv_secret_rotation.logic import CheckFailed, NotReady, RotationEventError, RotationRefused
from mv_shared.settings import SettingsError, load

from .rotation_world import SecretsWorld, clients

pytestmark = pytest.mark.requirements("R10", "R8")

GROUP = "medivault-cache"
SETTINGS = handler.Settings(target="cache-auth-token", replication_group_id=GROUP, secret_arn="set per test")
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def group(*, modified: datetime, status: str = "available", auth_status: str | None = None) -> dict[str, Any]:
    pending = {"AuthTokenStatus": auth_status} if auth_status else {}
    return {
        "ReplicationGroups": [
            {
                "ReplicationGroupId": GROUP,
                "Status": status,
                "AuthTokenEnabled": True,
                "AuthTokenLastModifiedDate": modified,
                "PendingModifiedValues": pending,
            }
        ]
    }


class World(SecretsWorld):
    def __init__(self) -> None:
        super().__init__("initial-token-0123456789abcdef")
        self.elasticache = boto3.client("elasticache")
        self.stub = Stubber(self.elasticache)
        self.stub.activate()
        self.settings = dataclasses.replace(SETTINGS, secret_arn=self.arn)

    def run(self, step: str, token: str) -> str:
        return handler.handle(self.event(step, token), self.settings, clients(elasticache=self.elasticache, secretsmanager=self.sm))

    def describe(self, **kwargs: Any) -> None:
        self.stub.add_response("describe_replication_groups", group(**kwargs), {"ReplicationGroupId": GROUP})

    def expect_rotate(self) -> None:
        pending = self.value("AWSPENDING")
        self.stub.add_response(
            "modify_replication_group",
            {"ReplicationGroup": {"ReplicationGroupId": GROUP}},
            {"ReplicationGroupId": GROUP, "AuthToken": pending, "AuthTokenUpdateStrategy": "ROTATE", "ApplyImmediately": True},
        )


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()


def test_full_rotation_rotates_never_sets_and_keeps_previous(world: World) -> None:
    token = world.begin()
    world.run("createSecret", token)
    pending = world.value("AWSPENDING")
    assert pending != "initial-token-0123456789abcdef" and len(pending) == 64 and pending.isascii() and pending.isalnum()

    world.describe(modified=LONG_AGO)
    world.expect_rotate()  # ROTATE, not SET: the current token stays valid
    world.run("setSecret", token)

    world.describe(modified=datetime.now(UTC) + timedelta(minutes=5))
    world.run("testSecret", token)
    world.run("finishSecret", token)
    world.stub.assert_no_pending_responses()

    assert world.value("AWSCURRENT") == pending
    assert world.value("AWSPREVIOUS") == "initial-token-0123456789abcdef"


def test_create_is_idempotent_on_retry(world: World) -> None:
    token = world.begin()
    world.run("createSecret", token)
    first = world.value("AWSPENDING")
    assert "already holds" in world.run("createSecret", token)
    assert world.value("AWSPENDING") == first


def test_set_retry_after_the_token_was_applied_does_not_rotate_again(world: World) -> None:
    """A second ROTATE with the same token would push the current token out: a retry must not send it."""
    token = world.begin()
    world.run("createSecret", token)
    world.describe(modified=datetime.now(UTC) + timedelta(minutes=1))  # ElastiCache already has it
    assert "already received" in world.run("setSecret", token)
    world.stub.assert_no_pending_responses()  # and no modify call was made (Stubber would raise)


def test_set_waits_while_the_group_is_modifying(world: World) -> None:
    token = world.begin()
    world.run("createSecret", token)
    world.describe(modified=LONG_AGO, status="modifying")
    with pytest.raises(NotReady, match="modifying"):
        world.run("setSecret", token)
    world.describe(modified=LONG_AGO, auth_status="ROTATING")
    with pytest.raises(NotReady, match="ROTATING"):
        world.run("setSecret", token)


def test_test_step_fails_when_the_group_never_got_the_token(world: World) -> None:
    token = world.begin()
    world.run("createSecret", token)
    world.describe(modified=LONG_AGO)
    with pytest.raises(CheckFailed):
        world.run("testSecret", token)
    assert world.value("AWSCURRENT") == "initial-token-0123456789abcdef"


def test_refuses_a_version_that_is_not_pending(world: World) -> None:
    token = world.begin()
    world.run("createSecret", token)
    world.describe(modified=LONG_AGO)
    world.expect_rotate()
    world.run("setSecret", token)
    world.describe(modified=datetime.now(UTC) + timedelta(minutes=5))
    world.run("testSecret", token)
    world.run("finishSecret", token)
    old = next(v for v, s in world.stages().items() if "AWSPREVIOUS" in s)
    with pytest.raises(RotationRefused, match="not set as AWSPENDING"):
        world.run("setSecret", old)
    with pytest.raises(RotationRefused, match="no stage"):
        world.run("createSecret", str(uuid.uuid4()))
    # A finished version is AWSCURRENT: a late retry of any step is a no-op.
    assert "already AWSCURRENT" in world.run("setSecret", token)
    world.stub.assert_no_pending_responses()


def test_refuses_a_secret_without_rotation(world: World) -> None:
    world.sm.meta.events.unregister("after-call.secretsmanager.DescribeSecret", world._as_secrets_manager_does)
    token = str(uuid.uuid4())
    world.sm.put_secret_value(SecretId=world.arn, ClientRequestToken=token, SecretString="x" * 32, VersionStages=["AWSPENDING"])
    with pytest.raises(RotationRefused, match="not enabled"):
        world.run("setSecret", token)


@pytest.mark.parametrize(
    "event",
    [None, [], {"SecretId": "arn", "ClientRequestToken": "t"}, {"SecretId": "arn", "ClientRequestToken": "t", "Step": "dropSecret"}],
)
def test_malformed_event_is_rejected_with_a_clear_error(world: World, event: Any, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(RotationEventError):
        handler.handle(event, world.settings, clients(elasticache=world.elasticache, secretsmanager=world.sm))
    assert world.value("AWSCURRENT") == "initial-token-0123456789abcdef"


def test_refuses_an_event_for_another_secret(world: World) -> None:
    """Another secret pointed at this function must not get its value written into the cache."""
    other = world.sm.create_secret(Name="someone-elses", SecretString="x" * 32)["ARN"]
    with pytest.raises(RotationRefused, match="rotates only"):
        handler.handle(
            {"SecretId": other, "ClientRequestToken": world.begin(), "Step": "createSecret"},
            world.settings,
            clients(elasticache=world.elasticache, secretsmanager=world.sm),
        )
    assert world.sm.list_secret_version_ids(SecretId=other)["Versions"][0]["VersionStages"] == ["AWSCURRENT"]


def test_settings_name_the_missing_variable() -> None:
    arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:cache-AbCdEf"
    with pytest.raises(SettingsError, match=r"^mv_secret_rotation: cache-auth-token needs environment variables SECRET_ARN, REPLICATION_GROUP_ID$"):
        load(handler.Settings, {"ROTATION_TARGET": "cache-auth-token"})
    with pytest.raises(
        SettingsError, match=r"^mv_secret_rotation: environment variable ROTATION_TARGET='database' is not one of cache-auth-token, origin-header$"
    ):
        load(handler.Settings, {"ROTATION_TARGET": "database"})
    with pytest.raises(SettingsError, match="SECRET_ARN='cache' is not a secretsmanager ARN"):
        load(handler.Settings, {"ROTATION_TARGET": "cache-auth-token", "REPLICATION_GROUP_ID": "g", "SECRET_ARN": "cache"})
    loaded = load(handler.Settings, {"ROTATION_TARGET": "cache-auth-token", "REPLICATION_GROUP_ID": "g", "SECRET_ARN": arn})
    assert (loaded.replication_group_id, loaded.secret_arn) == ("g", arn)


def test_lambda_handler_runs_in_process(world: World, context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROTATION_TARGET", "cache-auth-token")
    monkeypatch.setenv("REPLICATION_GROUP_ID", GROUP)
    monkeypatch.setenv("SECRET_ARN", world.arn)
    token = world.begin()
    monkeypatch.setattr(dal, "client", clients(elasticache=world.elasticache, secretsmanager=world.sm))
    handler.SETTINGS.clear()
    assert "AWSPENDING" in handler.lambda_handler(world.event("createSecret", token), context)
    assert world.value("AWSPENDING")
