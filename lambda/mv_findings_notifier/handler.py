"""Security findings notifier: one short message per finding on the security SNS topic.

EventBridge (GuardDuty, Macie, Config NON_COMPLIANT, Backup failures) invokes this function
asynchronously. Outcomes:
- a recognised finding, first delivery: claimed in the DynamoDB table (conditional put on the key
  finding id + updated-at), then published. If publishing fails the claim is released and the
  error re-raised, so Lambda's retries and then the dead-letter queue keep the event (never lost);
- the same finding again (same id and updated-at): ``duplicate``, nothing published;
- recognised but not news (a COMPLIANT change, a successful backup job): ``ignored``;
- an EventBridge envelope we cannot read: one error log line, and a short "unrecognised event"
  notice is still published (deduplicated on the event id) so the security team sees it;
- not an EventBridge event at all: one error log line, ``rejected`` (no retry would help).
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from mv_findings_notifier.findings import Notice, UnrecognisedEvent, to_notice

logger = Logger()
tracer = Tracer()

REQUIRED_ENV = ("TOPIC_ARN", "TABLE_NAME")
# How long a delivered finding is remembered (DynamoDB TTL attribute ``expires_at``).
DEFAULT_REMEMBER_DAYS = 90


@dataclass(frozen=True)
class Settings:
    topic_arn: str
    table_name: str
    remember_days: int


def load_settings(environ: dict[str, str] | os._Environ[str] = os.environ) -> Settings:
    missing = [name for name in REQUIRED_ENV if not environ.get(name)]
    if missing:
        raise RuntimeError(f"mv_findings_notifier: missing environment variables {', '.join(missing)}")
    days = environ.get("REMEMBER_DAYS", str(DEFAULT_REMEMBER_DAYS))
    if not days.isdigit() or int(days) < 1:
        raise RuntimeError(f"mv_findings_notifier: REMEMBER_DAYS must be a positive integer, got {days!r}")
    return Settings(topic_arn=environ["TOPIC_ARN"], table_name=environ["TABLE_NAME"], remember_days=int(days))


@functools.cache
def _clients() -> tuple[Any, Any]:
    return boto3.client("sns"), boto3.client("dynamodb")


class Notifier:
    def __init__(self, settings: Settings, sns: Any, dynamodb: Any) -> None:
        self.settings = settings
        self.sns = sns
        self.dynamodb = dynamodb

    def _claim(self, key: str) -> bool:
        """True if this delivery is the first with ``key``; False if it was seen before."""
        expires = int(time.time()) + self.settings.remember_days * 86400
        try:
            self.dynamodb.put_item(
                TableName=self.settings.table_name,
                Item={"pk": {"S": key}, "expires_at": {"N": str(expires)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _release(self, key: str) -> None:
        try:
            self.dynamodb.delete_item(TableName=self.settings.table_name, Key={"pk": {"S": key}})
        except ClientError:
            logger.exception("could not release the idempotency claim; a retry will be treated as a duplicate", extra={"key": key})

    def publish_once(self, key: str, subject: str, message: str) -> bool:
        if not self._claim(key):
            return False
        try:
            self.sns.publish(TopicArn=self.settings.topic_arn, Subject=subject, Message=message)
        except Exception:
            self._release(key)
            raise
        return True

    def handle(self, event: Any) -> dict[str, str]:
        try:
            notice = to_notice(event)
        except UnrecognisedEvent as problem:
            return self._unrecognised(event, str(problem))
        if notice is None:
            logger.info("recognised event that is not a finding to report", extra={"event_id": event.get("id")})
            return {"status": "ignored"}
        return self._deliver(notice)

    def _deliver(self, notice: Notice) -> dict[str, str]:
        if self.publish_once(notice.idempotency_key, notice.subject, notice.message):
            logger.info("finding published", extra={"key": notice.idempotency_key, "severity": notice.severity})
            return {"status": "published", "key": notice.idempotency_key}
        logger.info("repeat of a finding already published", extra={"key": notice.idempotency_key})
        return {"status": "duplicate", "key": notice.idempotency_key}

    def _unrecognised(self, event: Any, problem: str) -> dict[str, str]:
        event_id = event.get("id") if isinstance(event, dict) else None
        if not isinstance(event_id, str) or not event_id:
            logger.error(f"rejected: not an EventBridge event ({problem})", extra={"event": event})
            return {"status": "rejected", "reason": problem}
        source = str(event.get("source", "?"))
        detail_type = str(event.get("detail-type", "?"))
        logger.error(f"unrecognised security event forwarded as is: {problem}", extra={"event": event})
        key = f"unrecognised#{event_id}"
        subject = f"[UNKNOWN] Unrecognised security event from {source}"[:100]
        message = "\n".join(
            [
                "The findings notifier could not read this event; it is kept in the notifier's log group.",
                f"Source:      {source}",
                f"Detail type: {detail_type}",
                f"Account:     {event.get('account', '?')}",
                f"Region:      {event.get('region', '?')}",
                f"Event id:    {event_id}",
                f"Problem:     {problem}",
            ]
        )
        published = self.publish_once(key, subject, message)
        return {"status": "unrecognised-forwarded" if published else "duplicate", "key": key}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    sns, dynamodb = _clients()
    return Notifier(load_settings(), sns, dynamodb).handle(event)
