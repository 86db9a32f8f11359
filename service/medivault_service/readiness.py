"""Readiness: the task can serve only if it can read its database credentials from Secrets
Manager and open TLS connections (server certificate and host name verified) to Aurora
PostgreSQL and to Redis. Each dependency is reported as ok or failed; details go to the log,
never to the response."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aws_xray_sdk.core import AsyncAWSXRayRecorder
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.concurrency import run_in_threadpool

from medivault_service.settings import Settings

log = logging.getLogger("medivault.readiness")

OK = "ok"
FAILED = "failed"


class SecretFormatError(ValueError):
    """The database secret is not the JSON object RDS writes (host, port, username, password, dbname)."""


@dataclass(frozen=True, kw_only=True)
class DatabaseCredentials:
    host: str
    port: int
    username: str
    password: str
    dbname: str

    @classmethod
    def from_secret_string(cls, raw: str) -> DatabaseCredentials:
        try:
            data = json.loads(raw)
        except ValueError:
            raise SecretFormatError("the database secret is not JSON") from None
        if not isinstance(data, dict):
            raise SecretFormatError("the database secret is not a JSON object")
        missing = [k for k in ("host", "port", "username", "password") if not data.get(k)]
        if missing:
            raise SecretFormatError(f"the database secret lacks {', '.join(missing)}")
        return cls(
            host=str(data["host"]),
            port=int(data["port"]),
            username=str(data["username"]),
            password=str(data["password"]),
            dbname=str(data.get("dbname") or "postgres"),
        )


class DatabaseSecret:
    """Reads the secret at runtime and keeps it for ``ttl`` seconds (rotation replaces it within 30
    days; a failed login drops the cached copy so the next check reads the rotated value)."""

    def __init__(self, client: Any, arn: str, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._arn = arn
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, DatabaseCredentials] | None = None

    def get(self) -> DatabaseCredentials:
        with self._lock:
            now = self._clock()
            if self._cached is not None and now - self._cached[0] < self._ttl:
                return self._cached[1]
            value = self._client.get_secret_value(SecretId=self._arn, VersionStage="AWSCURRENT")["SecretString"]
            credentials = DatabaseCredentials.from_secret_string(value)
            self._cached = (now, credentials)
            return credentials

    def invalidate(self) -> None:
        with self._lock:
            self._cached = None


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Verify the server certificate against ``ca_file`` (or the system store) and its host name; TLS 1.2+."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


async def check_database(credentials: DatabaseCredentials, context: ssl.SSLContext, timeout: float) -> None:
    connection = await asyncpg.connect(
        host=credentials.host,
        port=credentials.port,
        user=credentials.username,
        password=credentials.password,
        database=credentials.dbname,
        ssl=context,
        timeout=timeout,
    )
    try:
        encrypted = await connection.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", timeout=timeout)
        if encrypted is not True:
            raise ConnectionError("the database session is not encrypted")
    finally:
        await connection.close(timeout=timeout)


async def check_cache(settings: Settings) -> None:
    client = Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        password=settings.redis_auth_token,
        ssl=True,
        ssl_cert_reqs="required",
        ssl_ca_certs=settings.redis_ca_file,
        ssl_check_hostname=True,
        ssl_min_version=ssl.TLSVersion.TLSv1_2,
        socket_timeout=settings.connect_timeout_seconds,
        socket_connect_timeout=settings.connect_timeout_seconds,
        retry=Retry(NoBackoff(), 0),  # one attempt: the ALB asks again on its own schedule
    )
    try:
        if await client.ping() is not True:
            raise ConnectionError("Redis did not answer PING")
    finally:
        await client.aclose()


class ReadinessChecker:
    def __init__(self, settings: Settings, secrets_client: Any, recorder: AsyncAWSXRayRecorder) -> None:
        self.settings = settings
        self.secret = DatabaseSecret(secrets_client, settings.db_secret_arn, settings.secret_cache_seconds)
        self.recorder = recorder
        self._db_tls: ssl.SSLContext | None = None

    async def check(self) -> dict[str, str]:
        database, cache = await asyncio.gather(self._database(), self._cache())
        return {"database": database, "cache": cache}

    async def _database(self) -> str:
        async with self.recorder.in_subsegment_async("secretsmanager") as sub:
            if sub is not None:
                sub.namespace = "aws"
            try:
                credentials = await run_in_threadpool(self.secret.get)
            except Exception as error:
                log.error("database secret unavailable", extra={"check": "database", "error": type(error).__name__, "detail": str(error)[:200]})
                return FAILED
        async with self.recorder.in_subsegment_async("postgresql") as sub:
            if sub is not None:
                sub.namespace = "remote"
            try:
                if self._db_tls is None:  # built on first use: a missing CA bundle fails readiness, not liveness
                    self._db_tls = tls_context(self.settings.db_ca_file)
                await check_database(credentials, self._db_tls, self.settings.connect_timeout_seconds)
            except Exception as error:
                if isinstance(error, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError):
                    self.secret.invalidate()  # rotated: read the new version next time
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
