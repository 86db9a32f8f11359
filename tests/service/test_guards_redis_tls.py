"""The service's Redis client refuses anything below TLS 1.2 (issue 19, "Tests that catch bugs").

A handshake test cannot tell: this machine's OpenSSL (Debian's openssl.cnf, MinProtocol TLSv1.2)
refuses TLS 1.0/1.1 even when a client would accept it, so a client set to TLS 1.0 would still
pass every connection test here and then accept a downgraded session elsewhere. Instead the test
builds the SSL context the client's connection would use (redis-py's RedisSSLContext, the same
object its SSLConnection wraps the socket with) and checks it: TLS 1.2 minimum, certificate
required, host name checked. ElastiCache in-transit encryption: "ElastiCache in-transit
encryption (TLS)" https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption.html.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import pytest
from medivault_service import cache, readiness
from medivault_service.settings import Settings

pytestmark = pytest.mark.requirements("R8")


class Stop(Exception):
    """Raised instead of connecting: the test only needs the client as check_cache configured it."""


def _client_of_check_cache(monkeypatch: pytest.MonkeyPatch, ca_file: str | None) -> Any:
    built: list[Any] = []

    class Recording(cache.Redis):  # type: ignore[misc,name-defined]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

        async def ping(self, **kwargs: Any) -> Any:
            raise Stop

    monkeypatch.setattr(cache, "Redis", Recording)
    settings = Settings(
        db_host="db.internal", db_port=5432, db_name="records", db_user="medivault_service", db_region="eu-central-1",
        db_ca_file="/nonexistent", redis_host="cache.internal", redis_port=6379, redis_auth_token="token-not-logged",
        redis_ca_file=ca_file,
        aws_region="eu-central-1", cognito_user_pool_id="eu-central-1_Guard", cognito_client_id="guardclient", cognito_region="eu-central-1",
        records_bucket="records", imaging_bucket="imaging", data_key_arn="arn:aws:kms:eu-central-1:111122223333:key/guard",
    )  # fmt: skip
    with pytest.raises(Stop):
        asyncio.run(readiness.check_cache(settings))
    [client] = built
    return client


def _ssl_context(client: Any) -> ssl.SSLContext:
    pool = client.connection_pool
    connection = pool.connection_class(**pool.connection_kwargs)
    context: ssl.SSLContext = connection.ssl_context.get()
    return context


def test_redis_client_context_is_tls12_or_later_verified(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client_of_check_cache(monkeypatch, ssl.get_default_verify_paths().cafile)
    context = _ssl_context(client)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_redis_client_refuses_plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    from redis.asyncio.connection import SSLConnection

    client = _client_of_check_cache(monkeypatch, None)
    assert issubclass(client.connection_pool.connection_class, SSLConnection)
    assert client.connection_pool.connection_kwargs["ssl_min_version"] == ssl.TLSVersion.TLSv1_2
