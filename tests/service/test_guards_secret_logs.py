"""No secret value ever reaches a log line of the service (issue 19, "Tests that catch bugs").

The service holds two secrets: the Redis AUTH token (injected by ECS from Secrets Manager) and the
IAM authentication token it signs for Aurora (a 15-minute password). Every log record emitted while
the app starts and while readiness fails in each way (dependency unreachable, Redis refusing the
token, PostgreSQL refusing the login) is rendered with the service's own JSON formatter, extras
and exception text included, at DEBUG for every logger (redis-py and asyncpg too), and searched
for either value. Real servers (tests/service/conftest.py), so the refusals are the servers' own.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from aws_xray_sdk.core import AsyncAWSXRayRecorder
from medivault_service.api import create_app
from medivault_service.database import SERVICE_DB_USER
from medivault_service.jsonlog import JsonFormatter
from medivault_service.settings import Settings
from starlette.testclient import TestClient

from tests.service.conftest import Server, Tls
from tests.service.test_readiness import CapturingEmitter, StandInToken

pytestmark = pytest.mark.requirements("R10", "R13")

REDIS_SECRET = f"redis-auth-{uuid.uuid4().hex}"
DB_SECRET = f"iam-token-{uuid.uuid4().hex}"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def lines() -> Iterator[list[str]]:
    handler = Lines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _settings(**changes: object) -> Settings:
    base = Settings(
        db_host="127.0.0.1", db_port=1, db_name="records", db_user=SERVICE_DB_USER, db_region="eu-central-1", db_ca_file="/nonexistent",
        redis_host="127.0.0.1", redis_port=1, redis_auth_token=REDIS_SECRET, redis_ca_file=None,
        aws_region="eu-central-1", cognito_user_pool_id="eu-central-1_Guard", cognito_client_id="guardclient", cognito_region="eu-central-1",
        records_bucket="records", imaging_bucket="imaging", data_key_arn="arn:aws:kms:eu-central-1:111122223333:key/guard",
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def _readyz(settings: Settings) -> str:
    recorder = AsyncAWSXRayRecorder()
    recorder.configure(emitter=CapturingEmitter())
    with TestClient(create_app(settings=settings, db_token=StandInToken(DB_SECRET), recorder=recorder)) as http:
        response = http.get("/readyz")
    assert response.status_code == 503
    return response.text


def _assert_clean(lines: list[str], *also: str) -> None:
    assert lines, "nothing was logged: the capture is broken"
    for text in [*lines, *also]:
        assert REDIS_SECRET not in text, text
        assert DB_SECRET not in text, text


def test_start_up_and_unreachable_dependencies_log_no_secret(lines: list[str]) -> None:
    body = _readyz(_settings())
    assert any('"database check failed"' in line for line in lines) and any('"cache check failed"' in line for line in lines)
    assert any('"started"' in line for line in lines)
    _assert_clean(lines, body)


def test_refused_logins_log_no_secret(lines: list[str], postgres: Server, empty_database: str, redis_server: Server, tls: Tls) -> None:
    settings = _settings(
        db_host=postgres.host, db_port=postgres.port, db_name=empty_database, db_ca_file=tls.ca_file,
        redis_host=redis_server.host, redis_port=redis_server.port, redis_ca_file=tls.ca_file,
    )  # fmt: skip
    body = _readyz(settings)
    failures = [line for line in lines if "check failed" in line]
    # Both servers were reached and refused the credentials (not a TLS or network failure).
    assert any('"check": "cache"' in line and "AuthenticationError" in line for line in failures), failures
    assert any('"check": "database"' in line and ("Password" in line or "Authorization" in line) for line in failures), failures
    _assert_clean(lines, body)


# --- the migration task: the master password ----------------------------------------------------------


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    import boto3
    from moto import mock_aws

    for name, value in {"AWS_DEFAULT_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="eu-central-1")


def test_migration_task_logs_no_master_password(
    secrets: object, postgres: Server, tls: Tls, empty_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused with both secret versions, refused by a malformed secret, refused by the server's certificate:
    the task's JSON lines (stdout, jsonlog) name what failed, never the password."""
    import json

    from medivault_service import migrate

    from tests.service.conftest import MASTER_PASSWORD, MASTER_USER

    def secret(password: str, **extra: object) -> str:
        return json.dumps(
            {"engine": "postgres", "host": postgres.host, "port": postgres.port, "username": MASTER_USER, "password": password, **extra}
        )

    wrong_current, wrong_pending = f"wrong-current-{uuid.uuid4().hex}", f"wrong-pending-{uuid.uuid4().hex}"
    client = secrets  # boto3 Secrets Manager client under moto
    refused = client.create_secret(Name="refused", SecretString=secret(wrong_current))["ARN"]  # type: ignore[attr-defined]
    client.put_secret_value(SecretId=refused, SecretString=secret(wrong_pending), VersionStages=["AWSPENDING"])  # type: ignore[attr-defined]
    malformed = client.create_secret(Name="malformed", SecretString=json.dumps({"password": wrong_current}))["ARN"]  # type: ignore[attr-defined]
    good = client.create_secret(Name="good", SecretString=secret(MASTER_PASSWORD))["ARN"]  # type: ignore[attr-defined]
    env = {"DB_CA_FILE": tls.ca_file, "DB_REGION": "eu-central-1", "DB_NAME": empty_database, "DB_AUTH_RETRY_SECONDS": "0"}

    assert migrate.main({**env, "DB_SECRET_ARN": refused}, client) == migrate.EXIT_CANNOT_CONNECT
    assert migrate.main({**env, "DB_SECRET_ARN": malformed}, client) == migrate.EXIT_BAD_CONFIGURATION
    assert migrate.main({**env, "DB_SECRET_ARN": good, "DB_CA_FILE": tls.other_ca_file}, client) == migrate.EXIT_CANNOT_CONNECT
    out = capsys.readouterr()
    text = out.out + out.err
    assert (
        text.count("master login refused; the secret may be rotating") == 2
        and "master secret unusable" in text
        and "could not reach the database" in text
    ), text
    for password in (wrong_current, wrong_pending, MASTER_PASSWORD):
        assert password not in text
