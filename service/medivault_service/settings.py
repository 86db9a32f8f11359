"""Environment, validated once at start: a missing or malformed variable stops the container
with one clear log line instead of a half-working task behind the load balancer."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

# The secret the cache auth token comes from may be a plain string or a JSON object.
_TOKEN_KEYS = ("authToken", "auth_token", "token", "password")


class SettingsError(ValueError):
    """A required environment variable is missing or malformed."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    # ARN of the Aurora master-credentials secret (JSON: host, port, username, password, dbname).
    # The ARN is not secret; the credentials are read from Secrets Manager at runtime.
    db_secret_arn: str
    # CA bundle that signs the database server certificate (the RDS bundle in the image).
    db_ca_file: str
    redis_host: str
    redis_port: int
    # Injected by ECS from Secrets Manager, never a plain environment value in the task definition.
    redis_auth_token: str
    # None: the system trust store (ElastiCache certificates are publicly trusted).
    redis_ca_file: str | None
    connect_timeout_seconds: float = 3.0
    secret_cache_seconds: float = 300.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise SettingsError(f"environment variable {name} is required")
            return value

        db_secret_arn, db_ca_file, redis_host = required("DB_SECRET_ARN"), required("DB_CA_FILE"), required("REDIS_HOST")
        port_text = required("REDIS_PORT")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SettingsError(f"environment variable REDIS_PORT must be a TCP port, got {port_text!r}")
        return cls(
            db_secret_arn=db_secret_arn,
            db_ca_file=db_ca_file,
            redis_host=redis_host,
            redis_port=int(port_text),
            redis_auth_token=auth_token(required("REDIS_AUTH_TOKEN")),
            redis_ca_file=env.get("REDIS_CA_FILE") or None,
        )


def auth_token(raw: str) -> str:
    """The token itself, whether the secret holds it plainly or as a JSON object field."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(parsed, dict):
        for key in _TOKEN_KEYS:
            if isinstance(parsed.get(key), str) and parsed[key]:
                return str(parsed[key])
        raise SettingsError(f"REDIS_AUTH_TOKEN is a JSON object without any of {', '.join(_TOKEN_KEYS)}")
    return raw
