"""DR-readiness checker (R15), run daily by an EventBridge schedule.

For every protected resource: the newest recovery point in the primary vault must be younger than
PRIMARY_MAX_AGE_HOURS and its copy in the DR vault (other region) younger than COPY_MAX_AGE_HOURS.
Publishes ``DrReady`` (1/0) and the two ages per resource to CloudWatch; an alarm per resource
pages when ``DrReady`` drops below 1 or the checker stops reporting.

Environment (validated at cold start; a bad value fails the init with one clear message):
  PRIMARY_VAULT_NAME, DR_VAULT_NAME, DR_REGION, PROTECTED_RESOURCE_ARNS (JSON list of ARNs),
  PRIMARY_MAX_AGE_HOURS, COPY_MAX_AGE_HOURS, METRIC_NAMESPACE
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from mv_dr_readiness import aws
from mv_dr_readiness.readiness import Readiness, assess, metric_data

logger = Logger()
tracer = Tracer()


@dataclass(frozen=True)
class Settings:
    primary_vault: str
    dr_vault: str
    dr_region: str
    resource_arns: tuple[str, ...]
    primary_max_age: timedelta
    copy_max_age: timedelta
    namespace: str


def load_settings(environ: Mapping[str, str]) -> Settings:
    def required(name: str) -> str:
        value = environ.get(name, "").strip()
        if not value:
            raise ValueError(f"mv_dr_readiness: environment variable {name} is missing or empty")
        return value

    def hours(name: str) -> timedelta:
        raw = required(name)
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"mv_dr_readiness: {name}={raw!r} is not a number of hours") from None
        if not 0 < value <= 24 * 7:
            raise ValueError(f"mv_dr_readiness: {name}={raw!r} is outside 0 < hours <= 168")
        return timedelta(hours=value)

    raw_arns = required("PROTECTED_RESOURCE_ARNS")
    try:
        arns = json.loads(raw_arns)
    except json.JSONDecodeError:
        raise ValueError("mv_dr_readiness: PROTECTED_RESOURCE_ARNS is not a JSON list") from None
    if not isinstance(arns, list) or not arns or not all(isinstance(a, str) and a.startswith("arn:") for a in arns):
        raise ValueError("mv_dr_readiness: PROTECTED_RESOURCE_ARNS must be a non-empty JSON list of ARNs")
    return Settings(
        primary_vault=required("PRIMARY_VAULT_NAME"),
        dr_vault=required("DR_VAULT_NAME"),
        dr_region=required("DR_REGION"),
        resource_arns=tuple(dict.fromkeys(arns)),
        primary_max_age=hours("PRIMARY_MAX_AGE_HOURS"),
        copy_max_age=hours("COPY_MAX_AGE_HOURS"),
        namespace=required("METRIC_NAMESPACE"),
    )


SETTINGS = load_settings(os.environ)
BACKUP_PRIMARY = boto3.client("backup")
BACKUP_DR = boto3.client("backup", region_name=SETTINGS.dr_region)
CLOUDWATCH = boto3.client("cloudwatch")


def _is_schedule(event: EventBridgeEvent) -> bool:
    raw = event.raw_event
    return isinstance(raw, dict) and raw.get("source") == "aws.events" and raw.get("detail-type") == "Scheduled Event"


@tracer.capture_method
def check_resource(resource_arn: str, now: datetime) -> Readiness:
    try:
        primary = list(aws.primary_recovery_points(BACKUP_PRIMARY, resource_arn))
        copies = list(aws.vault_recovery_points(BACKUP_DR, SETTINGS.dr_vault, resource_arn))
    except (ClientError, BotoCoreError) as error:
        # Unknown is not ready: report the resource as stale rather than skip it.
        logger.error("could not list recovery points; resource counted as not ready", extra={"resource_arn": resource_arn, "error": str(error)})
        return Readiness(resource_arn, None, None, primary_fresh=False, copy_fresh=False)
    return assess(
        resource_arn,
        primary_points=primary,
        dr_points=copies,
        primary_vault=SETTINGS.primary_vault,
        dr_vault=SETTINGS.dr_vault,
        now=now,
        primary_max_age=SETTINGS.primary_max_age,
        copy_max_age=SETTINGS.copy_max_age,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(raw_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = EventBridgeEvent(raw_event if isinstance(raw_event, dict) else {})
    if not _is_schedule(event):
        logger.error("rejected: not an EventBridge scheduled event; nothing checked", extra={"event": raw_event})
        return {"status": "rejected", "reason": "not an EventBridge scheduled event"}

    now = datetime.now(UTC)
    results = [check_resource(arn, now) for arn in SETTINGS.resource_arns]
    published = aws.put_metrics(CLOUDWATCH, SETTINGS.namespace, metric_data(results, now))
    not_ready = {r.resource_arn: r.problems for r in results if not r.ready}
    for arn, problems in not_ready.items():
        logger.warning("resource not DR-ready", extra={"resource_arn": arn, "problems": problems})
    logger.info("DR readiness checked", extra={"resources": len(results), "not_ready": len(not_ready), "datums": published})
    return {"status": "checked", "resources": len(results), "ready": [r.resource_arn for r in results if r.ready], "not_ready": not_ready}
