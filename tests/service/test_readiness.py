"""Readiness against real PostgreSQL and Redis over verified TLS, logging in as the service role
created by the migrations (with a stand-in for the IAM token: see StandInToken). Each failure
mode must turn exactly its dependency to "failed"."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import boto3
import pytest
from aws_xray_sdk.core import AsyncAWSXRayRecorder
from medivault_service.api import create_app
from medivault_service.database import SERVICE_DB_USER, DatabaseEndpoint, IamAuthToken, tls_context
from medivault_service.readiness import check_database
from medivault_service.settings import Settings
from starlette.testclient import TestClient

from tests.service.conftest import AWS_SETTINGS, REDIS_TOKEN, Server, Tls, migrate_as_master

STAND_IN_TOKEN = "stand-in-for-an-iam-token-for-readiness"

pytestmark = pytest.mark.requirements("R6", "R8", "R10", "R13")


class CapturingEmitter:
    """Keeps the segments the recorder would send to the X-Ray/ADOT sidecar."""

    def __init__(self) -> None:
        self.segments: list[dict[str, Any]] = []

    def send_entity(self, entity: Any) -> None:
        self.segments.append(json.loads(entity.serialize()))

    def set_daemon_address(self, address: str | None) -> None:
        pass


class StandInToken:
    """Aurora checks an IAM token; vanilla PostgreSQL cannot. This token source hands out the
    stand-in password the test sets on the service role (IamAuthToken is tested on its own below)."""

    def __init__(self, value: str = STAND_IN_TOKEN) -> None:
        self.value = value
        self.invalidated = 0

    def get(self) -> str:
        return self.value

    def invalidate(self) -> None:
        self.invalidated += 1


@pytest.fixture
def service_database(postgres: Server, tls: Tls, empty_database: str) -> str:
    """A database migrated by the master-user stand-in; the service role's stand-in token set."""
    return migrate_as_master(postgres, tls, empty_database, service_token=STAND_IN_TOKEN)


def _settings(postgres: Server, database: str, tls: Tls, redis_server: Server, **changes: Any) -> Settings:
    base = Settings(
        db_host=postgres.host,
        db_port=postgres.port,
        db_name=database,
        db_user=SERVICE_DB_USER,
        db_region="eu-central-1",
        db_ca_file=tls.ca_file,
        redis_host=redis_server.host,
        redis_port=redis_server.port,
        redis_auth_token=REDIS_TOKEN,
        redis_ca_file=tls.ca_file,
        **AWS_SETTINGS,  # type: ignore[arg-type]
    )
    return replace(base, **changes)


def _readyz(settings: Settings, token: Any = None, emitter: CapturingEmitter | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
    recorder = AsyncAWSXRayRecorder()
    recorder.configure(emitter=emitter or CapturingEmitter())
    with TestClient(create_app(settings=settings, db_token=token or StandInToken(), recorder=recorder)) as http:
        response = http.get("/readyz", headers={"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"})
    return response.status_code, response.json(), dict(response.headers)


def test_ready_when_the_service_role_and_cache_are_reachable_over_tls(
    postgres: Server, service_database: str, redis_server: Server, tls: Tls
) -> None:
    emitter = CapturingEmitter()
    status, body, headers = _readyz(_settings(postgres, service_database, tls, redis_server), emitter=emitter)
    assert (status, body) == (200, {"status": "ready", "checks": {"database": "ok", "cache": "ok"}})
    # The trace the ALB started is continued, and the dependencies appear as subsegments.
    assert headers["x-amzn-trace-id"].startswith("Root=1-5759e988-bd862e3fe1be46a994272793")
    (segment,) = emitter.segments
    assert segment["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert segment["name"] == "medivault-app"
    assert segment["http"]["response"]["status"] == 200
    assert {s["name"] for s in segment["subsegments"]} == {"postgresql", "redis"}


def test_refused_token_fails_only_the_database_and_drops_the_token(postgres: Server, service_database: str, redis_server: Server, tls: Tls) -> None:
    token = StandInToken("expired-or-forged")
    status, body, _ = _readyz(_settings(postgres, service_database, tls, redis_server), token)
    assert (status, body["checks"]) == (503, {"database": "failed", "cache": "ok"})
    assert body["status"] == "not ready"
    assert token.invalidated == 1


def test_untrusted_certificate_is_refused(postgres: Server, service_database: str, redis_server: Server, tls: Tls) -> None:
    settings = _settings(postgres, service_database, tls, redis_server, db_ca_file=tls.other_ca_file, redis_ca_file=tls.other_ca_file)
    status, body, _ = _readyz(settings)
    assert (status, body["checks"]) == (503, {"database": "failed", "cache": "failed"})


def test_host_name_mismatch_is_refused(postgres: Server, service_database: str, redis_server: Server, tls: Tls) -> None:
    # The certificate names only "localhost"; the same servers reached as 127.0.0.1 must be refused.
    settings = _settings(postgres, service_database, tls, redis_server, db_host="127.0.0.1", redis_host="127.0.0.1")
    status, body, _ = _readyz(settings)
    assert (status, body["checks"]) == (503, {"database": "failed", "cache": "failed"})


def test_wrong_cache_token_fails_only_the_cache_and_the_task_stays_in_service(
    postgres: Server, service_database: str, redis_server: Server, tls: Tls
) -> None:
    # Profiles fall back to PostgreSQL without the cache: a cache outage must not drain the target group.
    settings = _settings(postgres, service_database, tls, redis_server, redis_auth_token="not-the-token")
    status, body, _ = _readyz(settings)
    assert (status, body) == (200, {"status": "degraded", "checks": {"database": "ok", "cache": "failed"}})


def test_database_refuses_plaintext_and_check_confirms_encryption(postgres: Server, service_database: str, tls: Tls) -> None:
    endpoint = DatabaseEndpoint(host=postgres.host, port=postgres.port, dbname=service_database, user=SERVICE_DB_USER)

    # The server admits TLS only, so the "ok" above was an encrypted session...
    async def plaintext() -> None:
        connection = await asyncpg.connect(
            host=endpoint.host, port=endpoint.port, user=endpoint.user, password=STAND_IN_TOKEN, database=endpoint.dbname, ssl=False, timeout=5
        )
        await connection.close()

    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        asyncio.run(plaintext())
    # ...and the check itself passes over verified TLS.
    asyncio.run(check_database(endpoint, STAND_IN_TOKEN, tls_context(tls.ca_file), 5))


def test_tls_context_requires_verification_and_tls12() -> None:
    import ssl

    context = tls_context(None)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


# --- the IAM token itself: botocore signs it locally (no AWS call, no moto needed) ---------------------


@pytest.fixture
def rds_client(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return boto3.client("rds", region_name="eu-central-1")


ENDPOINT = DatabaseEndpoint(
    host="medivault-sandbox-records.cluster-abc.eu-central-1.rds.amazonaws.com", port=5432, dbname="postgres", user="medivault_service"
)


def test_iam_token_is_a_presigned_connect_for_the_service_user_valid_15_minutes(rds_client: Any) -> None:
    """https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.Connecting.html"""
    token = IamAuthToken(rds_client, ENDPOINT, "eu-central-1").get()
    url = urlsplit(f"https://{token}")
    query = parse_qs(url.query)
    assert (url.hostname, url.port) == (ENDPOINT.host, 5432)
    assert query["Action"] == ["connect"] and query["DBUser"] == ["medivault_service"]
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Credential"][0].split("/")[2:4] == ["eu-central-1", "rds-db"]


def test_iam_token_is_kept_then_refreshed_before_expiry_and_dropped_on_refusal(rds_client: Any) -> None:
    now = [0.0]
    calls: list[dict[str, Any]] = []

    class Counting:
        def generate_db_auth_token(self, **kwargs: Any) -> str:
            calls.append(kwargs)
            return f"token-{len(calls)}"

    token = IamAuthToken(Counting(), ENDPOINT, "eu-central-1", refresh_seconds=600, clock=lambda: now[0])
    assert token.get() == "token-1"
    now[0] = 599
    assert token.get() == "token-1"
    now[0] = 600  # well before the 900 s validity
    assert token.get() == "token-2"
    token.invalidate()
    assert token.get() == "token-3"
    assert calls[0] == {"DBHostname": ENDPOINT.host, "Port": 5432, "DBUsername": "medivault_service", "Region": "eu-central-1"}
    with pytest.raises(ValueError, match="refresh_seconds"):
        IamAuthToken(Counting(), ENDPOINT, "eu-central-1", refresh_seconds=900)
