"""The records service running in process for a test: settings pointed at the real PostgreSQL/Redis
of conftest.py and at moto, every log line of the process captured as JSON, X-Ray segments kept.
The ``service`` fixture (conftest.py) yields a ``Service``."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_xray_sdk.core import AsyncAWSXRayRecorder
from medivault_service.api import create_app
from medivault_service.database import SERVICE_DB_USER, DatabaseEndpoint, connect, tls_context
from medivault_service.jsonlog import JsonFormatter
from medivault_service.settings import Settings
from starlette.testclient import TestClient

from tests.service.api import Api
from tests.service.conftest import MASTER_PASSWORD, MASTER_USER, REDIS_TOKEN, Server, Tls
from tests.service.harness import STAND_IN_TOKEN, S3WithDefaultRetentionOnComplete, World, aws_kwargs, s3_client
from tests.service.test_readiness import CapturingEmitter, StandInToken

pytestmark = pytest.mark.requirements("R4", "R5", "R6", "R10", "R12", "R13")


TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
CONTENT = b"%PDF-1.7 Patient has a torn meniscus, left knee. CONFIDENTIAL-CONTENT-MARKER"
TITLE = "Knee MRI report CONFIDENTIAL-TITLE-MARKER"


class LogLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclasses.dataclass
class Service:
    http: TestClient
    api: Api
    world: World
    logs: LogLines
    emitter: CapturingEmitter
    settings: Settings
    master: Any  # async callable running SQL as the master user
    s3: Any

    def count(self, table: str) -> int:
        return int(asyncio.run(self.master(lambda c: c.fetchval(f"SELECT count(*) FROM {table}"))))

    def audit(self) -> list[dict[str, Any]]:
        rows = asyncio.run(self.master(lambda c: c.fetch("SELECT * FROM phi.audit_events ORDER BY id")))
        return [dict(r) for r in rows]


def make_settings(postgres: Server, database: str, tls: Tls, redis_server: Server, world: World, **changes: Any) -> Settings:
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
        **world.settings_kwargs(),
    )
    return dataclasses.replace(base, **changes)


def running_service(
    postgres: Server, tls: Tls, redis_server: Server, records_database: str, world: World, request: pytest.FixtureRequest
) -> Iterator[Service]:
    changes: dict[str, Any] = getattr(request, "param", {})
    settings = make_settings(postgres, records_database, tls, redis_server, world, **changes)
    logs = LogLines()
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(logs)
    root.setLevel(logging.INFO)
    emitter = CapturingEmitter()
    recorder = AsyncAWSXRayRecorder()
    recorder.configure(emitter=emitter)
    s3 = S3WithDefaultRetentionOnComplete(s3_client(world.endpoint))
    cognito = boto3.client("cognito-idp", **aws_kwargs(world.endpoint))

    async def master(action: Any) -> Any:
        connection = await connect(
            DatabaseEndpoint(host=postgres.host, port=postgres.port, dbname=records_database, user=MASTER_USER),
            MASTER_PASSWORD,
            tls_context(tls.ca_file),
            10,
        )
        try:
            return await action(connection)
        finally:
            await connection.close()

    app = create_app(settings=settings, db_token=StandInToken(STAND_IN_TOKEN), recorder=recorder, s3_client=s3, cognito_client=cognito)
    try:
        with TestClient(app, headers={"X-Amzn-Trace-Id": TRACE}) as http:
            yield Service(http, Api(http, world), world, logs, emitter, settings, master, s3)
    finally:
        root.removeHandler(logs)
        root.setLevel(previous_level)
