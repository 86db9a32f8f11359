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

from dataclasses import dataclass, fields
from typing import Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mv_secret_rotation import dal
from mv_secret_rotation.logic import (
    CacheAuthToken,
    OriginHeader,
    RotationEventError,
    RotationRefused,
    Rotator,
    Target,
    parse_event,
)
from mv_shared.observability import logger, reject, tracer
from mv_shared.settings import Env, Lazy, SettingsError, arn, one_of

# The environment variables each target needs besides ROTATION_TARGET and SECRET_ARN.
TARGETS = {
    "cache-auth-token": ("REPLICATION_GROUP_ID",),
    "origin-header": ("LISTENER_RULE_ARN", "HEADER_NAME", "ORIGIN_DOMAIN", "DISTRIBUTION_PARAMETER"),
}


@dataclass(frozen=True)
class Settings:
    target: Annotated[str, Env("ROTATION_TARGET", one_of(*TARGETS))]
    # The one secret this deployment rotates: an event for any other secret is refused.
    secret_arn: Annotated[str, Env("SECRET_ARN", arn("secretsmanager"))] = ""
    replication_group_id: Annotated[str, Env("REPLICATION_GROUP_ID")] = ""
    listener_rule_arn: Annotated[str, Env("LISTENER_RULE_ARN")] = ""
    header_name: Annotated[str, Env("HEADER_NAME")] = ""
    origin_domain: Annotated[str, Env("ORIGIN_DOMAIN")] = ""
    distribution_parameter: Annotated[str, Env("DISTRIBUTION_PARAMETER")] = ""

    def __post_init__(self) -> None:
        names = {f.name.upper(): getattr(self, f.name) for f in fields(self)}
        missing = [name for name in ("SECRET_ARN", *TARGETS.get(self.target, ())) if not names[name]]
        if missing:
            raise SettingsError(f"mv_secret_rotation: {self.target} needs environment variables {', '.join(missing)}")


SETTINGS = Lazy(Settings)


def build_target(settings: Settings, client: Any) -> Target:
    if settings.target == "cache-auth-token":
        return CacheAuthToken(dal.ElastiCacheApi(client("elasticache")), settings.replication_group_id)
    return OriginHeader(
        dal.OriginApis(client("elbv2"), client("cloudfront"), client("ssm"), settings.distribution_parameter),
        rule_arn=settings.listener_rule_arn,
        header_name=settings.header_name,
        origin_domain=settings.origin_domain,
    )


def handle(event: Any, settings: Settings, client: Any | None = None) -> str:
    """``client``: a factory ``service name -> boto3 client`` (tests pass their own)."""
    client = client or dal.client
    try:
        rotation = parse_event(event)
    except RotationEventError as problem:
        reject(str(problem), event)
        raise
    logger.append_keys(secret_id=rotation.secret_id, step=rotation.step, version=rotation.token, target=settings.target)
    try:
        if rotation.secret_id != settings.secret_arn:
            # Someone pointed another secret's rotation at this function: it would write that
            # secret's value into the cache or the origin header.
            raise RotationRefused(f"this function rotates only {settings.secret_arn}")
        summary: str = Rotator(dal.SecretsManagerStore(client("secretsmanager")), build_target(settings, client)).run(rotation)
    except RotationRefused as problem:
        logger.error(f"refused: {problem}; nothing was changed")
        raise
    logger.info(summary)
    return summary


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> str:
    return handle(event, SETTINGS.get())
