"""Environment, validated once at start: a missing or malformed variable stops the container
with one clear log line instead of a half-working task behind the load balancer."""

from __future__ import annotations

import json
import os
import re
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
    # Records service (issue 17). The Cognito user pool whose access tokens the service accepts.
    aws_region: str
    cognito_user_pool_id: str
    cognito_client_id: str
    cognito_region: str
    records_bucket: str
    imaging_bucket: str
    # The customer managed key both buckets are encrypted with; presigned PUTs are signed for it.
    data_key_arn: str
    # None: https://cognito-idp.<region>.amazonaws.com/<pool id>/.well-known/jwks.json (tests point it at moto).
    cognito_jwks_url: str | None = None
    connect_timeout_seconds: float = 3.0
    token_refresh_seconds: float = 600.0
    # Limits (docs/service.md).
    max_body_bytes: int = 16 * 1024
    download_url_seconds: int = 300
    upload_url_seconds: int = 900
    profile_cache_seconds: int = 300
    db_pool_size: int = 10

    @property
    def cognito_issuer(self) -> str:
        return f"https://cognito-idp.{self.cognito_region}.amazonaws.com/{self.cognito_user_pool_id}"

    @property
    def jwks_url(self) -> str:
        return self.cognito_jwks_url or f"{self.cognito_issuer}/.well-known/jwks.json"

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

        def matching(name: str, pattern: str, shape: str) -> str:
            text = required(name)
            if not re.fullmatch(pattern, text):
                raise SettingsError(f"environment variable {name} must be {shape}, got {text!r}")
            return text

        # The data-path variables first (their messages are the ones a broken task shows first).
        data_path = dict(
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
        region_pattern = r"[a-z]{2}(-[a-z]+)+-\d"
        aws_region = matching("AWS_REGION", region_pattern, "an AWS region such as eu-central-1")
        cognito_region = matching("COGNITO_REGION", region_pattern, "an AWS region such as eu-central-1")
        pool_id = matching("COGNITO_USER_POOL_ID", r"[a-z]{2}(-[a-z]+)+-\d_[0-9A-Za-z]+", "a user pool id such as eu-central-1_AbC123")
        if not pool_id.startswith(cognito_region + "_"):
            raise SettingsError(f"environment variable COGNITO_USER_POOL_ID {pool_id!r} is not a pool of COGNITO_REGION {cognito_region}")
        bucket = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
        jwks_url = env.get("COGNITO_JWKS_URL", "").strip() or None
        if jwks_url is not None and not re.fullmatch(r"https?://\S+", jwks_url):
            raise SettingsError(f"environment variable COGNITO_JWKS_URL must be an http(s) URL, got {jwks_url!r}")
        return cls(
            **data_path,  # type: ignore[arg-type]
            aws_region=aws_region,
            cognito_user_pool_id=pool_id,
            cognito_client_id=matching("COGNITO_CLIENT_ID", r"[0-9a-z]{1,128}", "an app client id (lower-case letters and digits)"),
            cognito_region=cognito_region,
            cognito_jwks_url=jwks_url,
            records_bucket=matching("RECORDS_BUCKET", bucket, "an S3 bucket name"),
            imaging_bucket=matching("IMAGING_BUCKET", bucket, "an S3 bucket name"),
            data_key_arn=matching(
                "DATA_KEY_ARN", r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}", "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid>)"
            ),
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
