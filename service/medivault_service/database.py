"""How the service reaches Aurora PostgreSQL: as its own role ``medivault_service``, with an IAM
database-authentication token instead of a password, over TLS with the server certificate and
host name verified against the Amazon RDS CA bundle (libpq's ``sslmode=verify-full``).

- IAM database authentication for Aurora PostgreSQL (the role is granted ``rds_iam`` by the first
  migration; the task role holds ``rds-db:connect`` on exactly that database user):
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.html
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.Connecting.html
- The token is a SigV4-presigned ``connect`` request, signed locally with the task role's
  credentials (no call to RDS), valid for 15 minutes; it is checked only when a connection is
  opened, so open connections outlive it. It is kept for ``refresh_seconds`` (10 minutes) and a
  failed login drops it at once:
  https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/rds/client/generate_db_auth_token.html
- TLS with the RDS CA bundle baked into the image:
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.SSL.html
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

# The database role of the service (created by migrations/0001_service_role_and_phi_schema.sql;
# the task role's rds-db:connect names exactly this user).
SERVICE_DB_USER = "medivault_service"
TOKEN_VALIDITY_SECONDS = 900  # fixed by RDS
DEFAULT_REFRESH_SECONDS = 600.0


@dataclass(frozen=True, kw_only=True)
class DatabaseEndpoint:
    host: str
    port: int
    dbname: str
    user: str


class TokenSource(Protocol):
    def get(self) -> str: ...
    def invalidate(self) -> None: ...


class IamAuthToken:
    """An RDS IAM authentication token for one database user, refreshed before it expires."""

    def __init__(
        self,
        rds_client: Any,
        endpoint: DatabaseEndpoint,
        region: str,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < refresh_seconds < TOKEN_VALIDITY_SECONDS:
            raise ValueError(f"refresh_seconds must be between 0 and {TOKEN_VALIDITY_SECONDS} (the token's validity), got {refresh_seconds}")
        self._client = rds_client
        self._endpoint = endpoint
        self._region = region
        self._refresh = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, str] | None = None

    def get(self) -> str:
        with self._lock:
            now = self._clock()
            if self._cached is not None and now - self._cached[0] < self._refresh:
                return self._cached[1]
            token: str = self._client.generate_db_auth_token(
                DBHostname=self._endpoint.host, Port=self._endpoint.port, DBUsername=self._endpoint.user, Region=self._region
            )
            self._cached = (now, token)
            return token

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


async def connect(endpoint: DatabaseEndpoint, password: str, context: ssl.SSLContext, timeout: float) -> asyncpg.Connection:
    """One verified-TLS connection; refuses a session the server did not encrypt."""
    connection = await asyncpg.connect(
        host=endpoint.host,
        port=endpoint.port,
        user=endpoint.user,
        password=password,
        database=endpoint.dbname,
        ssl=context,
        timeout=timeout,
    )
    try:
        encrypted = await connection.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", timeout=timeout)
        if encrypted is not True:
            raise ConnectionError("the database session is not encrypted")
    except BaseException:
        await connection.close(timeout=timeout)
        raise
    return connection
