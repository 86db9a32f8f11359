"""The ASGI application: ``GET /healthz`` (liveness: the process answers), ``GET /readyz``
(readiness: IAM-authenticated TLS login to Aurora as the service role, TLS to Redis), the sign-in
routes under ``/v1/auth/`` (medivault_service.auth) and the records API under ``/v1/``
(medivault_service.records). Served by uvicorn (``python -m medivault_service``): one process, one
event loop; blocking AWS SDK calls run in the thread pool. docs/service.md describes the API."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import boto3
from aws_xray_sdk.core import AsyncAWSXRayRecorder, xray_recorder
from botocore.config import Config
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from medivault_service import auth, records
from medivault_service.cache import ProfileCache, redis_client
from medivault_service.database import IamAuthToken, TokenSource, tls_context
from medivault_service.errors import ApiError, api_error_handler, error_response, http_exception_handler, unexpected_error_handler
from medivault_service.readiness import OK, ReadinessChecker
from medivault_service.settings import Settings, SettingsError
from medivault_service.store import Store, create_pool
from medivault_service.tracing import XRayMiddleware, configure_recorder

SERVICE_NAME = "medivault-app"
log = logging.getLogger("medivault.app")


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    checker: ReadinessChecker = request.app.state.checker
    checks = await checker.check()
    # The database is required; the cache is not: profiles are read from PostgreSQL (slower) while Valkey is
    # unreachable (medivault_service.cache), so a cache outage must not take every task out of the target
    # group. The task stays in service as "degraded" and the failed check is logged as an error.
    if checks["database"] != OK:
        return JSONResponse({"status": "not ready", "checks": checks}, status_code=503)
    status = "ready" if all(v == OK for v in checks.values()) else "degraded"
    return JSONResponse({"status": status, "checks": checks}, status_code=200)


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, OSError | TimeoutError | asyncpg.InterfaceError | asyncpg.PostgresConnectionError | asyncpg.InvalidPasswordError):
        log.error("dependency unavailable", extra={"error": type(exc).__name__})
        unavailable: JSONResponse = error_response(request, 503, "service_unavailable", "a dependency of the service is unavailable; try again")
        return unavailable
    unexpected: JSONResponse = await unexpected_error_handler(request, exc)
    return unexpected


def aws_client(service: str, region: str) -> Any:
    """boto3 honours AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER (moto in tests)."""
    import os

    addressing = "path" if service == "s3" and os.environ.get("AWS_ENDPOINT_URL_S3") else "virtual"
    config = Config(
        signature_version="s3v4" if service == "s3" else None,
        s3={"addressing_style": addressing} if service == "s3" else None,
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=2,
        read_timeout=10,
        max_pool_connections=40,
    )
    return boto3.client(service, region_name=region, config=config)  # type: ignore[call-overload]


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/v1/auth/sign-in", auth.sign_in, methods=["POST"]),
    Route("/v1/auth/mfa", auth.mfa, methods=["POST"]),
    Route("/v1/auth/refresh", auth.refresh, methods=["POST"]),
    Route("/v1/auth/new-password", auth.new_password, methods=["POST"]),
    Route("/v1/auth/mfa-setup", auth.mfa_setup, methods=["POST"]),
    Route("/v1/auth/mfa-setup/verify", auth.mfa_setup_verify, methods=["POST"]),
    Route("/v1/records", records.create_record, methods=["POST"]),
    Route("/v1/records/{record_id}", records.get_record, methods=["GET"]),
    Route("/v1/records/{record_id}/confirm", records.confirm_upload, methods=["POST"]),
    Route("/v1/records/{record_id}/audit", records.record_audit, methods=["GET"]),
    Route("/v1/patients/{patient_id}/records", records.list_records, methods=["GET"]),
    Route("/v1/profile", records.get_profile, methods=["GET"]),
    Route("/v1/profile", records.update_profile, methods=["PUT"]),
]


def create_app(
    *,
    settings: Settings | None = None,
    rds_client: Any = None,
    db_token: TokenSource | None = None,
    recorder: AsyncAWSXRayRecorder = xray_recorder,
    s3_client: Any = None,
    cognito_client: Any = None,
    jwks_fetch: Any = None,
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
        app.state.settings = resolved
        app.state.recorder = recorder
        endpoint = ReadinessChecker.endpoint_of(resolved)
        store_token: TokenSource = token

        async def pool() -> asyncpg.Pool:
            return await create_pool(
                endpoint, store_token, tls_context(resolved.db_ca_file), size=resolved.db_pool_size, timeout=resolved.connect_timeout_seconds
            )

        store = Store(pool, token, recorder)
        cache_client = redis_client(resolved)
        app.state.store = store
        app.state.profiles = records.Profiles(store, ProfileCache(cache_client, recorder, resolved.profile_cache_seconds))
        app.state.s3 = s3_client or aws_client("s3", resolved.aws_region)
        app.state.cognito = cognito_client or aws_client("cognito-idp", resolved.cognito_region)
        jwks = auth.JwksCache(resolved.jwks_url, fetch=jwks_fetch) if jwks_fetch else auth.JwksCache(resolved.jwks_url)
        app.state.verifier = auth.TokenVerifier(jwks, issuer=resolved.cognito_issuer, client_id=resolved.cognito_client_id)
        # Names of hosts and the role only: never the Redis AUTH token or a database token.
        log.info("started", extra={"redis_host": resolved.redis_host, "db_host": resolved.db_host, "db_user": resolved.db_user})
        try:
            yield
        finally:
            await store.close()
            await cache_client.aclose()

    return Starlette(
        routes=ROUTES,
        middleware=[Middleware(XRayMiddleware, recorder=recorder, service=SERVICE_NAME)],
        exception_handlers={ApiError: api_error_handler, HTTPException: http_exception_handler, Exception: server_error},
        lifespan=lifespan,
    )
