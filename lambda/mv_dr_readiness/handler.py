"""DR-readiness checker (R15), run daily by an EventBridge schedule.

For every protected resource: the newest recovery point in the primary vault must be younger than
PRIMARY_MAX_AGE_HOURS and its copy in the DR vault (other region) younger than COPY_MAX_AGE_HOURS.
Publishes ``DrReady`` (1/0) and the two ages per resource to CloudWatch; an alarm per resource
pages when ``DrReady`` drops below 1 or the checker stops reporting.

Environment (read and validated on the first invocation; a bad value fails it with one message
naming the variable): PRIMARY_VAULT_NAME, DR_VAULT_NAME, DR_REGION, PROTECTED_RESOURCE_ARNS (JSON
list of ARNs), PRIMARY_MAX_AGE_HOURS, COPY_MAX_AGE_HOURS, METRIC_NAMESPACE.

Layers: this module checks the event and shapes the result; ``logic`` judges freshness; ``dal``
is the only module that calls AWS Backup and CloudWatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from mv_dr_readiness import dal
from mv_dr_readiness.logic import Readiness, assess, metric_data
from mv_shared.observability import logger, reject, tracer
from mv_shared.settings import Env, Lazy, arn_list, hours

MAX_HOURS = 24 * 7


@dataclass(frozen=True)
class Settings:
    primary_vault: Annotated[str, Env("PRIMARY_VAULT_NAME")]
    dr_vault: Annotated[str, Env("DR_VAULT_NAME")]
    dr_region: Annotated[str, Env("DR_REGION")]
    resource_arns: Annotated[tuple[str, ...], Env("PROTECTED_RESOURCE_ARNS", arn_list)]
    primary_max_age_hours: Annotated[float, Env("PRIMARY_MAX_AGE_HOURS", hours(MAX_HOURS))]
    copy_max_age_hours: Annotated[float, Env("COPY_MAX_AGE_HOURS", hours(MAX_HOURS))]
    namespace: Annotated[str, Env("METRIC_NAMESPACE")]

    @property
    def primary_max_age(self) -> timedelta:
        return timedelta(hours=self.primary_max_age_hours)

    @property
    def copy_max_age(self) -> timedelta:
        return timedelta(hours=self.copy_max_age_hours)


SETTINGS = Lazy(Settings)


def _is_schedule(event: EventBridgeEvent) -> bool:
    raw = event.raw_event
    return isinstance(raw, dict) and raw.get("source") == "aws.events" and raw.get("detail-type") == "Scheduled Event"


@tracer.capture_method
def check_resource(settings: Settings, resource_arn: str, now: datetime) -> Readiness:
    try:
        primary = list(dal.primary_recovery_points(dal.backup(), resource_arn))
        copies = list(dal.vault_recovery_points(dal.backup(settings.dr_region), settings.dr_vault, resource_arn))
    except dal.AWS_ERRORS as error:
        # Unknown is not ready: report the resource as stale rather than skip it.
        logger.error("could not list recovery points; resource counted as not ready", extra={"resource_arn": resource_arn, "error": str(error)})
        return Readiness(resource_arn, None, None, primary_fresh=False, copy_fresh=False)
    return assess(
        resource_arn,
        primary_points=primary,
        dr_points=copies,
        primary_vault=settings.primary_vault,
        dr_vault=settings.dr_vault,
        now=now,
        primary_max_age=settings.primary_max_age,
        copy_max_age=settings.copy_max_age,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(raw_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = EventBridgeEvent(raw_event if isinstance(raw_event, dict) else {})
    if not _is_schedule(event):
        reject("not an EventBridge scheduled event; nothing checked", raw_event)
        return {"status": "rejected", "reason": "not an EventBridge scheduled event"}
    settings = SETTINGS.get()
    now = datetime.now(UTC)
    results = [check_resource(settings, arn, now) for arn in settings.resource_arns]
    published = dal.put_metrics(dal.cloudwatch(), settings.namespace, metric_data(results, now))
    not_ready = {r.resource_arn: r.problems for r in results if not r.ready}
    for arn, problems in not_ready.items():
        logger.warning("resource not DR-ready", extra={"resource_arn": arn, "problems": problems})
    logger.info("DR readiness checked", extra={"resources": len(results), "not_ready": len(not_ready), "datums": published})
    return {"status": "checked", "resources": len(results), "ready": [r.resource_arn for r in results if r.ready], "not_ready": not_ready}
