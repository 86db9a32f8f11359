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
    # Aurora writer endpoint and the service's own database role. No password: the service logs in
    # with an IAM authentication token (medivault_service.database); it never sees the master secret.
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    # Region the token is signed for (the cluster's).
    db_region: str
    # CA bundle that signs the database server certificate (the RDS bundle in the image).
    db_ca_file: str
    redis_host: str
    redis_port: int
    # Injected by ECS from Secrets Manager, never a plain environment value in the task definition.
    redis_auth_token: str
    # None: the system trust store (ElastiCache certificates are publicly trusted).
    redis_ca_file: str | None
    connect_timeout_seconds: float = 3.0
    token_refresh_seconds: float = 600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise SettingsError(f"environment variable {name} is required")
            return value

        def port(name: str) -> int:
            text = required(name)
            if not text.isdigit() or not 0 < int(text) < 65536:
                raise SettingsError(f"environment variable {name} must be a TCP port, got {text!r}")
            return int(text)

        return cls(
            db_host=required("DB_HOST"),
            db_port=port("DB_PORT"),
            db_name=required("DB_NAME"),
            db_user=required("DB_USER"),
            db_region=required("DB_REGION"),
            db_ca_file=required("DB_CA_FILE"),
            redis_host=required("REDIS_HOST"),
            redis_port=port("REDIS_PORT"),
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
