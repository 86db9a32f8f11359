"""Secrets Manager rotation function for MediVault's non-database secrets (R10).

One code base, deployed once per secret; ``ROTATION_TARGET`` says what the secret authenticates to:
- ``cache-auth-token``: the ElastiCache AUTH token (``REPLICATION_GROUP_ID``);
- ``origin-header``: the CloudFront -> ALB origin header (``LISTENER_RULE_ARN``, ``HEADER_NAME``,
  ``ORIGIN_DOMAIN``: the origin domain CloudFront connects to, ``DISTRIBUTION_PARAMETER``: the SSM
  parameter in which the Edge stack publishes the distribution id).

Secrets Manager invokes it with ``{"SecretId", "ClientRequestToken", "Step"}`` for createSecret,
setSecret, testSecret and finishSecret
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html).
Outcomes: a step that did its work or found it done returns a one-line summary; a malformed event
or a version that is not AWSPENDING is logged as one error line and raised (the rotation fails and
nothing is changed); a target that is busy raises NotReady: the step fails and Secrets Manager re-attempts the incomplete rotation (same version).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from mv_secret_rotation.dal import ElastiCacheApi, OriginApis, SecretsManagerStore
from mv_secret_rotation.logic import (
    CacheAuthToken,
    OriginHeader,
    RotationEventError,
    RotationRefused,
    Rotator,
    Target,
    parse_event,
)

logger = Logger()
tracer = Tracer()

TARGETS = {
    "cache-auth-token": ("REPLICATION_GROUP_ID",),
    "origin-header": ("LISTENER_RULE_ARN", "HEADER_NAME", "ORIGIN_DOMAIN", "DISTRIBUTION_PARAMETER"),
}


class SettingsError(ValueError):
    """The function's environment is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    target: str
    values: Mapping[str, str]
    # The one secret this deployment rotates: an event for any other secret is refused.
    secret_arn: str


def load_settings(environ: Mapping[str, str]) -> Settings:
    target = environ.get("ROTATION_TARGET", "").strip()
    if target not in TARGETS:
        raise SettingsError(f"mv_secret_rotation: ROTATION_TARGET={target!r} is not one of {', '.join(TARGETS)}")
    missing = [name for name in ("SECRET_ARN", *TARGETS[target]) if not environ.get(name, "").strip()]
    if missing:
        raise SettingsError(f"mv_secret_rotation: {target} needs environment variables {', '.join(missing)}")
    secret_arn = environ["SECRET_ARN"].strip()
    if not secret_arn.startswith("arn:") or ":secretsmanager:" not in secret_arn:
        raise SettingsError(f"mv_secret_rotation: SECRET_ARN={secret_arn!r} is not a Secrets Manager secret ARN")
    return Settings(target=target, values={name: environ[name].strip() for name in TARGETS[target]}, secret_arn=secret_arn)


@functools.cache
def _client(service: str) -> Any:
    return boto3.client(service)


def build_target(settings: Settings, client: Any) -> Target:
    if settings.target == "cache-auth-token":
        return CacheAuthToken(ElastiCacheApi(client("elasticache")), settings.values["REPLICATION_GROUP_ID"])
    return OriginHeader(
        OriginApis(client("elbv2"), client("cloudfront"), client("ssm"), settings.values["DISTRIBUTION_PARAMETER"]),
        rule_arn=settings.values["LISTENER_RULE_ARN"],
        header_name=settings.values["HEADER_NAME"],
        origin_domain=settings.values["ORIGIN_DOMAIN"],
    )


def handle(event: Any, settings: Settings, client: Any | None = None) -> str:
    """``client``: a factory ``service name -> boto3 client`` (tests pass their own)."""
    client = client or _client
    try:
        rotation = parse_event(event)
    except RotationEventError as problem:
        logger.error(f"rejected: {problem}; nothing was changed")
        raise
    logger.append_keys(secret_id=rotation.secret_id, step=rotation.step, version=rotation.token, target=settings.target)
    try:
        if rotation.secret_id != settings.secret_arn:
            # Someone pointed another secret's rotation at this function: it would write that
            # secret's value into the cache or the origin header.
            raise RotationRefused(f"this function rotates only {settings.secret_arn}")
        summary: str = Rotator(SecretsManagerStore(client("secretsmanager")), build_target(settings, client)).run(rotation)
    except RotationRefused as problem:
        logger.error(f"refused: {problem}; nothing was changed")
        raise
    logger.info(summary)
    return summary


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> str:
    return handle(event, load_settings(os.environ))
