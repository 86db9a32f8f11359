"""Liveness, configuration at start, JSON logs and X-Ray segments of the app service."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from aws_xray_sdk.core import AsyncAWSXRayRecorder
from medivault_service.api import create_app
from medivault_service.jsonlog import JsonFormatter
from medivault_service.settings import Settings, SettingsError, auth_token
from starlette.testclient import TestClient

from tests.service.conftest import AWS_ENV
from tests.service.test_readiness import CapturingEmitter

pytestmark = pytest.mark.requirements("R4", "R5", "R10", "R13")

ENV = {
    "DB_HOST": "medivault-sandbox-records.cluster-abc.eu-central-1.rds.amazonaws.com",
    "DB_PORT": "5432",
    "DB_NAME": "postgres",
    "DB_USER": "medivault_service",
    "DB_REGION": "eu-central-1",
    "DB_CA_FILE": "/etc/ssl/certs/rds-global-bundle.pem",
    "REDIS_HOST": "master.cache.example",
    "REDIS_PORT": "6379",
    "REDIS_AUTH_TOKEN": "token",
    **AWS_ENV,
}


def _unreachable_settings() -> Settings:
    return Settings.from_env({**ENV, "REDIS_HOST": "127.0.0.1", "REDIS_PORT": "1"})


def test_healthz_answers_without_touching_dependencies() -> None:
    recorder = AsyncAWSXRayRecorder()
    emitter = CapturingEmitter()
    recorder.configure(emitter=emitter)
    with TestClient(create_app(settings=_unreachable_settings(), rds_client=object(), recorder=recorder)) as http:
        response = http.get("/healthz", headers={"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"})
        assert http.post("/healthz").status_code == 405
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert emitter.segments[0]["http"]["request"]["method"] == "GET"
    assert emitter.segments[0]["http"]["response"]["status"] == 200
    assert "subsegments" not in emitter.segments[0]


def test_unsampled_requests_send_no_segment() -> None:
    recorder = AsyncAWSXRayRecorder()
    emitter = CapturingEmitter()
    recorder.configure(emitter=emitter)
    with TestClient(create_app(settings=_unreachable_settings(), rds_client=object(), recorder=recorder)) as http:
        http.get("/healthz", headers={"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0"})
    assert emitter.segments == []


def test_settings_from_env() -> None:
    settings = Settings.from_env(ENV)
    assert (settings.redis_port, settings.redis_ca_file, settings.redis_auth_token) == (6379, None, "token")
    assert (settings.db_port, settings.db_user, settings.db_name, settings.db_region) == (5432, "medivault_service", "postgres", "eu-central-1")
    assert settings.cognito_issuer == "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_TestPool1"
    assert settings.jwks_url == settings.cognito_issuer + "/.well-known/jwks.json"
    moto = Settings.from_env({**ENV, "COGNITO_JWKS_URL": "http://localhost:5000/eu-central-1_TestPool1/.well-known/jwks.json"})
    assert moto.jwks_url.startswith("http://localhost:5000/")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"DB_HOST": ""}, "DB_HOST is required"),
        ({"DB_USER": " "}, "DB_USER is required"),
        ({"DB_PORT": "postgres"}, "DB_PORT must be a TCP port"),
        ({"REDIS_PORT": "http"}, "REDIS_PORT must be a TCP port"),
        ({"REDIS_PORT": "70000"}, "REDIS_PORT must be a TCP port"),
        ({"REDIS_AUTH_TOKEN": '{"user": "x"}'}, "without any of authToken"),
        ({"COGNITO_USER_POOL_ID": ""}, "COGNITO_USER_POOL_ID is required"),
        ({"COGNITO_USER_POOL_ID": "pool"}, "COGNITO_USER_POOL_ID must be a user pool id"),
        ({"COGNITO_USER_POOL_ID": "eu-west-1_Abc"}, "is not a pool of COGNITO_REGION eu-central-1"),
        ({"COGNITO_CLIENT_ID": "Client-1"}, "COGNITO_CLIENT_ID must be an app client id"),
        ({"COGNITO_REGION": "Frankfurt"}, "COGNITO_REGION must be an AWS region"),
        ({"AWS_REGION": ""}, "AWS_REGION is required"),
        ({"RECORDS_BUCKET": "Records_Bucket"}, "RECORDS_BUCKET must be an S3 bucket name"),
        ({"IMAGING_BUCKET": ""}, "IMAGING_BUCKET is required"),
        ({"DATA_KEY_ARN": "alias/medivault-data"}, "DATA_KEY_ARN must be a KMS key ARN"),
        ({"COGNITO_JWKS_URL": "file:///etc/passwd"}, "COGNITO_JWKS_URL must be an http"),
    ],
)
def test_invalid_settings(changes: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**ENV, **changes})


def test_auth_token_plain_or_json() -> None:
    assert auth_token("s3cr3t") == "s3cr3t"
    assert auth_token('{"authToken": "abc"}') == "abc"
    assert auth_token('{"password": "def"}') == "def"


def test_app_refuses_to_start_with_invalid_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError, match="DB_HOST is required"), TestClient(create_app(rds_client=object())):
        pass


def test_json_log_lines_carry_fields_and_trace_id() -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord("medivault.request", logging.INFO, __file__, 1, "request", None, None)
    record.status = 200
    line: dict[str, Any] = json.loads(formatter.format(record))
    assert line["message"] == "request" and line["level"] == "INFO" and line["status"] == 200
    assert "xray_trace_id" not in line  # no segment outside a request

    recorder = AsyncAWSXRayRecorder()
    recorder.configure(emitter=CapturingEmitter())
    seen: list[dict[str, Any]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(json.loads(formatter.format(record)))

    handler = Capture()
    logger = logging.getLogger("medivault.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        import medivault_service.jsonlog as jsonlog

        original = jsonlog.xray_recorder
        jsonlog.xray_recorder = recorder  # type: ignore[assignment]
        with TestClient(create_app(settings=_unreachable_settings(), rds_client=object(), recorder=recorder)) as http:
            http.get("/healthz", headers={"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"})
    finally:
        jsonlog.xray_recorder = original
        logger.removeHandler(handler)
    (request_line,) = [s for s in seen if s["message"] == "request"]
    assert request_line["path"] == "/healthz" and request_line["status"] == 200
    assert request_line["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
