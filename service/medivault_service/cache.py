"""Profiles read through Valkey/Redis (cache-aside), TLS with the certificate and host name verified
and AUTH with the token ECS injects, like the readiness check.

- A hit answers from the cache; a miss reads PostgreSQL and stores the profile for a bounded TTL
  (``PROFILE_CACHE_SECONDS``, default 300 s), so a lost invalidation heals by itself.
- An update writes PostgreSQL first, then deletes the key (the next read refills it).
- The cache is an optimisation, never a dependency: any cache error (down, timeout, refused AUTH)
  is logged by type only and the value comes from PostgreSQL. After an error the cache is skipped
  for ``backoff_seconds`` so a dead endpoint does not add its connect timeout to every request.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Callable
from typing import Any

from aws_xray_sdk.core import AsyncAWSXRayRecorder
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from medivault_service.settings import Settings

log = logging.getLogger("medivault.cache")


def redis_client(settings: Settings, timeout: float = 0.5) -> Redis:
    """The one Redis client of the service (profiles and the readiness check): TLS 1.2 or later with the
    server certificate and host name verified, AUTH, no retries (a failed call falls back or fails fast)."""
    return Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        password=settings.redis_auth_token,
        ssl=True,
        ssl_cert_reqs="required",
        ssl_ca_certs=settings.redis_ca_file,
        ssl_check_hostname=True,
        ssl_min_version=ssl.TLSVersion.TLSv1_2,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        max_connections=50,
        decode_responses=True,
    )


class ProfileCache:
    PREFIX = "profile:v1:"

    def __init__(
        self,
        client: Redis,
        recorder: AsyncAWSXRayRecorder,
        ttl_seconds: int,
        backoff_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < ttl_seconds <= 3600:
            raise ValueError(f"profile cache TTL must be 1..3600 seconds, got {ttl_seconds}")
        self.client = client
        self.recorder = recorder
        self.ttl = ttl_seconds
        self.backoff = backoff_seconds
        self.clock = clock
        self._down_until = 0.0
        self.hits = 0
        self.misses = 0
        self.errors = 0

    def _failed(self, operation: str, error: Exception) -> None:
        self.errors += 1
        self._down_until = self.clock() + self.backoff
        log.warning("cache unavailable, reading from the database", extra={"operation": operation, "error": type(error).__name__})

    async def get(self, subject: str) -> dict[str, Any] | None:
        if self.clock() < self._down_until:
            return None
        async with self.recorder.in_subsegment_async("redis") as sub:
            if sub is not None:
                sub.namespace = "remote"
                sub.put_annotation("operation", "GET")
            try:
                raw = await self.client.get(self.PREFIX + subject)
            except Exception as error:
                self._failed("get", error)
                return None
        if raw is None:
            self.misses += 1
            return None
        self.hits += 1
        value: dict[str, Any] = json.loads(raw)
        return value

    async def put(self, subject: str, profile: dict[str, Any]) -> None:
        if self.clock() < self._down_until:
            return
        async with self.recorder.in_subsegment_async("redis") as sub:
            if sub is not None:
                sub.namespace = "remote"
                sub.put_annotation("operation", "SET")
            try:
                await self.client.set(self.PREFIX + subject, json.dumps(profile, default=str), ex=self.ttl)
            except Exception as error:
                self._failed("set", error)

    async def invalidate(self, subject: str) -> bool:
        """Delete the key; False if the cache could not be reached (the TTL then bounds staleness)."""
        async with self.recorder.in_subsegment_async("redis") as sub:
            if sub is not None:
                sub.namespace = "remote"
                sub.put_annotation("operation", "DEL")
            try:
                await self.client.delete(self.PREFIX + subject)
            except Exception as error:
                self._failed("delete", error)
                return False
        return True
