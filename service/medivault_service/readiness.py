"""Readiness: the task can serve only if it can log in to Aurora PostgreSQL as its own role
(``medivault_service``) with an IAM authentication token; it also opens a TLS connection to Redis
(a failure there makes the task "degraded", still in service, since profiles fall back to the
database), both with the server certificate and host name verified. Each dependency is reported as ok or
failed; details go to the log, never to the response. The task holds no database password at
all (no master secret): see medivault_service.database."""

from __future__ import annotations

import asyncio
import logging
import ssl

import asyncpg
from aws_xray_sdk.core import AsyncAWSXRayRecorder
from starlette.concurrency import run_in_threadpool

from medivault_service.cache import redis_client
from medivault_service.database import DatabaseEndpoint, TokenSource, connect, tls_context
from medivault_service.settings import Settings

log = logging.getLogger("medivault.readiness")

OK = "ok"
FAILED = "failed"


async def check_database(endpoint: DatabaseEndpoint, token: str, context: ssl.SSLContext, timeout: float) -> None:
    """Log in as the service role with its IAM token over verified TLS and confirm the session is encrypted."""
    connection = await connect(endpoint, token, context, timeout)
    await connection.close(timeout=timeout)


async def check_cache(settings: Settings) -> None:
    # The records service's own client (medivault_service.cache.redis_client: TLS 1.2+, certificate and host name
    # verified, AUTH), one attempt: the ALB asks again on its own schedule.
    client = redis_client(settings, timeout=settings.connect_timeout_seconds)
    try:
        if await client.ping() is not True:
            raise ConnectionError("Redis did not answer PING")
    finally:
        await client.aclose()


class ReadinessChecker:
    def __init__(self, settings: Settings, token: TokenSource, recorder: AsyncAWSXRayRecorder) -> None:
        self.settings = settings
        self.endpoint = self.endpoint_of(settings)
        self.token = token
        self.recorder = recorder
        self._db_tls: ssl.SSLContext | None = None

    @staticmethod
    def endpoint_of(settings: Settings) -> DatabaseEndpoint:
        return DatabaseEndpoint(host=settings.db_host, port=settings.db_port, dbname=settings.db_name, user=settings.db_user)

    async def check(self) -> dict[str, str]:
        database, cache = await asyncio.gather(self._database(), self._cache())
        return {"database": database, "cache": cache}

    async def _database(self) -> str:
        async with self.recorder.in_subsegment_async("postgresql") as sub:
            if sub is not None:
                sub.namespace = "remote"
            try:
                # Signed locally, but resolving the task role's credentials may block: off the event loop.
                token = await run_in_threadpool(self.token.get)
                if self._db_tls is None:  # built on first use: a missing CA bundle fails readiness, not liveness
                    self._db_tls = tls_context(self.settings.db_ca_file)
                await check_database(self.endpoint, token, self._db_tls, self.settings.connect_timeout_seconds)
            except Exception as error:
                if isinstance(error, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError):
                    self.token.invalidate()  # refused (expired, or the role lost rds_iam): sign a new one next time
                log.error("database check failed", extra={"check": "database", "error": type(error).__name__, "detail": str(error)[:200]})
                return FAILED
        return OK

    async def _cache(self) -> str:
        async with self.recorder.in_subsegment_async("redis") as sub:
            if sub is not None:
                sub.namespace = "remote"
            try:
                await check_cache(self.settings)
            except Exception as error:
                log.error("cache check failed", extra={"check": "cache", "error": type(error).__name__, "detail": str(error)[:200]})
                return FAILED
        return OK
