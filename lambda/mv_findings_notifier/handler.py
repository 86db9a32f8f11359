"""Security findings notifier: one short message per finding on the security SNS topic.

EventBridge (GuardDuty, Macie, Config NON_COMPLIANT, Backup failures) invokes this function
asynchronously; the outcomes are listed on ``logic.Notifier``. Layers: this module loads the
settings and builds the notifier; ``logic`` reads the event and decides; ``dal`` is the only module
that calls DynamoDB and SNS.

Environment (read on the first invocation): TOPIC_ARN, TABLE_NAME, REMEMBER_DAYS (optional, 90).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mv_findings_notifier import dal
from mv_findings_notifier.logic import Notifier
from mv_shared.observability import logger, tracer
from mv_shared.settings import Env, Lazy, positive_int

# How long a delivered finding is remembered (DynamoDB TTL attribute ``expires_at``).
DEFAULT_REMEMBER_DAYS = 90


@dataclass(frozen=True)
class Settings:
    topic_arn: Annotated[str, Env("TOPIC_ARN")]
    table_name: Annotated[str, Env("TABLE_NAME")]
    remember_days: Annotated[int, Env("REMEMBER_DAYS", positive_int)] = DEFAULT_REMEMBER_DAYS


SETTINGS = Lazy(Settings)


def build_notifier(settings: Settings, sns: Any, dynamodb: Any) -> Notifier:
    return Notifier(dal.ClaimTable(dynamodb, settings.table_name), dal.SnsTopic(sns, settings.topic_arn), settings.remember_days)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    sns, dynamodb = dal.clients()
    return build_notifier(SETTINGS.get(), sns, dynamodb).handle(event)
