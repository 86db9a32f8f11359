"""The ASGI application: ``GET /healthz`` (liveness: the process answers) and ``GET /readyz``
(readiness: secret readable, TLS to Aurora and Redis). Served by uvicorn (``python -m medivault_service``)."""

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
    secrets_client: Any = None,
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
        client = secrets_client or boto3.client("secretsmanager")
        app.state.checker = ReadinessChecker(resolved, client, recorder)
        log.info("started", extra={"redis_host": resolved.redis_host})
        yield

    return Starlette(
        routes=[Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])],
        middleware=[Middleware(XRayMiddleware, recorder=recorder, service=SERVICE_NAME)],
        lifespan=lifespan,
    )
