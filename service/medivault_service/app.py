"""The ASGI application: ``GET /healthz`` (liveness: the process answers) and ``GET /readyz``
(readiness: IAM-authenticated TLS login to Aurora as the service role, TLS to Redis). Served by uvicorn (``python -m medivault_service``)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import boto3
from aws_xray_sdk.core import AsyncAWSXRayRecorder, xray_recorder
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from medivault_service.database import IamAuthToken, TokenSource
from medivault_service.readiness import OK, ReadinessChecker
from medivault_service.settings import Settings, SettingsError
from medivault_service.tracing import XRayMiddleware, configure_recorder

SERVICE_NAME = "medivault-app"
log = logging.getLogger("medivault.app")


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    checker: ReadinessChecker = request.app.state.checker
    checks = await checker.check()
    ready = all(v == OK for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503)


def create_app(
    *,
    settings: Settings | None = None,
    rds_client: Any = None,
    db_token: TokenSource | None = None,
    recorder: AsyncAWSXRayRecorder = xray_recorder,
) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        configure_recorder(recorder, SERVICE_NAME)
        try:
            resolved = settings or Settings.from_env()
        except SettingsError as error:
            log.critical("invalid configuration, not starting", extra={"error": str(error)})
            raise
        token = db_token
        if token is None:
            client = rds_client or boto3.client("rds", region_name=resolved.db_region)
            endpoint = ReadinessChecker.endpoint_of(resolved)
            token = IamAuthToken(client, endpoint, resolved.db_region, refresh_seconds=resolved.token_refresh_seconds)
        app.state.checker = ReadinessChecker(resolved, token, recorder)
        log.info("started", extra={"redis_host": resolved.redis_host, "db_host": resolved.db_host, "db_user": resolved.db_user})
        yield

    return Starlette(
        routes=[Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])],
        middleware=[Middleware(XRayMiddleware, recorder=recorder, service=SERVICE_NAME)],
        lifespan=lifespan,
    )
