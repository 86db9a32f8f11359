"""Readiness against real PostgreSQL and Redis over verified TLS; the DB secret from Secrets
Manager (moto). Each failure mode must turn exactly its dependency to "failed"."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import asyncpg
import boto3
import pytest
from aws_xray_sdk.core import AsyncAWSXRayRecorder
from medivault_service.app import create_app
from medivault_service.readiness import DatabaseCredentials, DatabaseSecret, SecretFormatError, check_database, tls_context
from medivault_service.settings import Settings
from moto import mock_aws
from starlette.testclient import TestClient

from tests.service.conftest import DB_NAME, DB_PASSWORD, DB_USER, REDIS_TOKEN, Server, Tls

pytestmark = pytest.mark.requirements("R6", "R8", "R10", "R13")


class CapturingEmitter:
    """Keeps the segments the recorder would send to the X-Ray/ADOT sidecar."""

    def __init__(self) -> None:
        self.segments: list[dict[str, Any]] = []

    def send_entity(self, entity: Any) -> None:
        self.segments.append(json.loads(entity.serialize()))

    def set_daemon_address(self, address: str | None) -> None:
        pass


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_DEFAULT_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="eu-central-1")


def _db_secret(client: Any, postgres: Server, *, password: str = DB_PASSWORD, host: str | None = None, raw: str | None = None) -> str:
    value = raw or json.dumps(
        {"engine": "postgres", "host": host or postgres.host, "port": postgres.port, "username": DB_USER, "password": password, "dbname": DB_NAME}
    )
    arn: str = client.create_secret(Name="medivault/db", SecretString=value)["ARN"]
    return arn


def _settings(arn: str, tls: Tls, redis_server: Server, **changes: Any) -> Settings:
    base = Settings(
        db_secret_arn=arn,
        db_ca_file=tls.ca_file,
        redis_host=redis_server.host,
        redis_port=redis_server.port,
        redis_auth_token=REDIS_TOKEN,
        redis_ca_file=tls.ca_file,
    )
    return replace(base, **changes)


def _readyz(settings: Settings, client: Any, emitter: CapturingEmitter | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
    recorder = AsyncAWSXRayRecorder()
    recorder.configure(emitter=emitter or CapturingEmitter())
    with TestClient(create_app(settings=settings, secrets_client=client, recorder=recorder)) as http:
        response = http.get("/readyz", headers={"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"})
    return response.status_code, response.json(), dict(response.headers)


def test_ready_when_secret_database_and_cache_are_reachable_over_tls(secrets: Any, postgres: Server, redis_server: Server, tls: Tls) -> None:
    emitter = CapturingEmitter()
    status, body, headers = _readyz(_settings(_db_secret(secrets, postgres), tls, redis_server), secrets, emitter)
    assert (status, body) == (200, {"status": "ready", "checks": {"database": "ok", "cache": "ok"}})
    # The trace the ALB started is continued, and the dependencies appear as subsegments.
    assert headers["x-amzn-trace-id"].startswith("Root=1-5759e988-bd862e3fe1be46a994272793")
    (segment,) = emitter.segments
    assert segment["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert segment["name"] == "medivault-app"
    assert segment["http"]["response"]["status"] == 200
    assert {s["name"] for s in segment["subsegments"]} == {"secretsmanager", "postgresql", "redis"}


def test_wrong_database_password_fails_only_the_database(secrets: Any, postgres: Server, redis_server: Server, tls: Tls) -> None:
    status, body, _ = _readyz(_settings(_db_secret(secrets, postgres, password="wrong"), tls, redis_server), secrets)
    assert (status, body["checks"]) == (503, {"database": "failed", "cache": "ok"})
    assert body["status"] == "not ready"


def test_missing_secret_fails_the_database(secrets: Any, redis_server: Server, tls: Tls) -> None:
    arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:medivault/absent-AbCdEf"
    status, body, _ = _readyz(_settings(arn, tls, redis_server), secrets)
    assert (status, body["checks"]) == (503, {"database": "failed", "cache": "ok"})


def test_malformed_secret_fails_the_database(secrets: Any, postgres: Server, redis_server: Server, tls: Tls) -> None:
    arn = _db_secret(secrets, postgres, raw=json.dumps({"host": "localhost"}))
    status, body, _ = _readyz(_settings(arn, tls, redis_server), secrets)
    assert (status, body["checks"]) == (503, {"database": "failed", "cache": "ok"})


def test_untrusted_certificate_is_refused(secrets: Any, postgres: Server, redis_server: Server, tls: Tls) -> None:
    settings = _settings(_db_secret(secrets, postgres), tls, redis_server, db_ca_file=tls.other_ca_file, redis_ca_file=tls.other_ca_file)
    status, body, _ = _readyz(settings, secrets)
    assert (status, body["checks"]) == (503, {"database": "failed", "cache": "failed"})


def test_host_name_mismatch_is_refused(secrets: Any, postgres: Server, redis_server: Server, tls: Tls) -> None:
    # The certificate names only "localhost"; the same servers reached as 127.0.0.1 must be refused.
    settings = _settings(_db_secret(secrets, postgres, host="127.0.0.1"), tls, redis_server, redis_host="127.0.0.1")
    status, body, _ = _readyz(settings, secrets)
    assert (status, body["checks"]) == (503, {"database": "failed", "cache": "failed"})


def test_wrong_cache_token_fails_only_the_cache(secrets: Any, postgres: Server, redis_server: Server, tls: Tls) -> None:
    settings = _settings(_db_secret(secrets, postgres), tls, redis_server, redis_auth_token="not-the-token")
    status, body, _ = _readyz(settings, secrets)
    assert (status, body["checks"]) == (503, {"database": "ok", "cache": "failed"})


def test_database_refuses_plaintext_and_check_confirms_encryption(postgres: Server, tls: Tls) -> None:
    # The server admits TLS only, so the "ok" above was an encrypted session...
    async def plaintext() -> None:
        connection = await asyncpg.connect(
            host=postgres.host, port=postgres.port, user=DB_USER, password=DB_PASSWORD, database=DB_NAME, ssl=False, timeout=5
        )
        await connection.close()

    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        asyncio.run(plaintext())
    # ...and the check itself passes over verified TLS.
    credentials = DatabaseCredentials(host=postgres.host, port=postgres.port, username=DB_USER, password=DB_PASSWORD, dbname=DB_NAME)
    asyncio.run(check_database(credentials, tls_context(tls.ca_file), 5))


def test_tls_context_requires_verification_and_tls12() -> None:
    import ssl

    context = tls_context(None)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_secret_is_cached_then_reread_and_dropped_on_invalidate(secrets: Any, postgres: Server) -> None:
    arn = _db_secret(secrets, postgres)
    now = [0.0]
    secret = DatabaseSecret(secrets, arn, ttl=300, clock=lambda: now[0])
    assert secret.get().password == DB_PASSWORD
    rotated = json.dumps({"host": "db.internal", "port": 5432, "username": DB_USER, "password": "rotated", "dbname": DB_NAME})
    secrets.put_secret_value(SecretId=arn, SecretString=rotated, VersionStages=["AWSCURRENT"])
    now[0] = 299
    assert secret.get().password == DB_PASSWORD  # cached
    now[0] = 301
    assert secret.get().password == "rotated"  # re-read after the TTL
    secrets.put_secret_value(SecretId=arn, SecretString=rotated.replace("rotated", "again"), VersionStages=["AWSCURRENT"])
    secret.invalidate()
    assert secret.get().password == "again"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"host": "h", "port": 5432, "username": "u"}), "lacks password"),
    ],
)
def test_secret_format_errors(raw: str, message: str) -> None:
    with pytest.raises(SecretFormatError, match=message):
        DatabaseCredentials.from_secret_string(raw)


def test_secret_defaults_database_name() -> None:
    creds = DatabaseCredentials.from_secret_string(json.dumps({"host": "h", "port": "5432", "username": "u", "password": "p"}))
    assert (creds.port, creds.dbname) == (5432, "postgres")
