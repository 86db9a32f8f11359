"""Custom AWS Config rule: PHI-tagged buckets must be locked, versioned and under the data key.

Invoked by AWS Config on configuration changes of ``AWS::S3::Bucket`` (including oversized change
notifications) and periodically. Reads each bucket's state from S3 and reports with
``config:PutEvaluations``. Outcomes:
- change notification: one evaluation for that bucket (NOT_APPLICABLE when deleted or out of scope);
- periodic: one evaluation per bucket of this region;
- invalid rule parameters or an unknown message type: one error log line, ``rejected``, no report
  (Config shows the rule as not evaluated rather than a made-up result).

``CONFIG_RULE_TEST_MODE=true`` sends ``TestMode=True`` with PutEvaluations. Only the tests set it
(moto implements PutEvaluations only in test mode); the deployed function never has it.
"""

from __future__ import annotations

import functools
import json
import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from mv_phi_bucket_rule.rule import NOT_APPLICABLE, BadParameters, BucketState, RuleParameters, evaluate

logger = Logger()
tracer = Tracer()

BUCKET = "AWS::S3::Bucket"
GONE = ("ResourceDeleted", "ResourceDeletedNotRecorded", "ResourceNotRecorded")
BATCH = 100  # PutEvaluations accepts at most 100 evaluations per call


class UnknownInvocation(ValueError):
    """The invocation is not a Config rule event this rule handles."""


@functools.cache
def _clients() -> tuple[Any, Any]:
    return boto3.client("s3"), boto3.client("config")


def _missing(error: ClientError, *codes: str) -> bool:
    return error.response["Error"]["Code"] in codes


def read_bucket(s3: Any, name: str) -> BucketState | None:
    """The bucket's state, or None if it no longer exists."""
    try:
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    except ClientError as error:
        if _missing(error, "NoSuchBucket"):
            return None
        if not _missing(error, "NoSuchTagSet"):
            raise
        tags = {}
    try:
        lock: dict[str, Any] | None = s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
    except ClientError as error:
        if not _missing(error, "ObjectLockConfigurationNotFoundError"):
            raise
        lock = None
    versioning = s3.get_bucket_versioning(Bucket=name).get("Status")
    try:
        rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as error:
        if not _missing(error, "ServerSideEncryptionConfigurationNotFoundError"):
            raise
        rules = []
    return BucketState(name=name, tags=tags, object_lock=lock, versioning_status=versioning, encryption_rules=rules)


def _evaluation(name: str, compliance: str, annotation: str, when: datetime) -> dict[str, Any]:
    return {
        "ComplianceResourceType": BUCKET,
        "ComplianceResourceId": name,
        "ComplianceType": compliance,
        "Annotation": annotation,
        "OrderingTimestamp": when,
    }


def _timestamp(value: Any) -> datetime:
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return datetime.now(UTC)


def _evaluate_one(s3: Any, params: RuleParameters, name: str, when: datetime) -> dict[str, Any]:
    state = read_bucket(s3, name)
    if state is None:
        return _evaluation(name, NOT_APPLICABLE, "bucket no longer exists", when)
    compliance, annotation = evaluate(state, params)
    return _evaluation(name, compliance, annotation, when)


def evaluations_for(event: dict[str, Any], params: RuleParameters, s3: Any, region: str) -> list[dict[str, Any]]:
    invoking = json.loads(event["invokingEvent"])
    message_type = invoking.get("messageType")
    if message_type in ("ConfigurationItemChangeNotification", "OversizedConfigurationItemChangeNotification"):
        item = invoking.get("configurationItem") or invoking.get("configurationItemSummary")
        if not isinstance(item, dict) or not item.get("resourceId"):
            raise UnknownInvocation(f"{message_type} without a configuration item")
        when = _timestamp(item.get("configurationItemCaptureTime"))
        if item.get("resourceType") != BUCKET:
            raise UnknownInvocation(f"resource type {item.get('resourceType')!r} is not {BUCKET}")
        name = str(item.get("resourceName") or item["resourceId"])
        if event.get("eventLeftScope") or item.get("configurationItemStatus") in GONE:
            return [_evaluation(name, NOT_APPLICABLE, "bucket deleted or out of scope", when)]
        return [_evaluate_one(s3, params, name, when)]
    if message_type == "ScheduledNotification":
        when = _timestamp(invoking.get("notificationCreationTime"))
        results = []
        for bucket in s3.list_buckets()["Buckets"]:
            location = s3.get_bucket_location(Bucket=bucket["Name"]).get("LocationConstraint") or "us-east-1"
            if location == region:
                results.append(_evaluate_one(s3, params, bucket["Name"], when))
        return results
    raise UnknownInvocation(f"message type {message_type!r} is not handled")


def report(config: Any, token: str, evaluations: list[dict[str, Any]], test_mode: bool) -> None:
    for start in range(0, len(evaluations), BATCH):
        extra = {"TestMode": True} if test_mode else {}
        result = config.put_evaluations(Evaluations=evaluations[start : start + BATCH], ResultToken=token, **extra)
        if result.get("FailedEvaluations"):
            raise RuntimeError(f"PutEvaluations refused {len(result['FailedEvaluations'])} evaluations")


def handle(event: Any, s3: Any, config: Any, *, region: str, test_mode: bool) -> dict[str, Any]:
    try:
        if not isinstance(event, dict) or not isinstance(event.get("invokingEvent"), str) or not event.get("resultToken"):
            raise UnknownInvocation("not an AWS Config rule invocation (invokingEvent/resultToken missing)")
        params = RuleParameters.parse(json.loads(event.get("ruleParameters") or "{}"))
        evaluations = evaluations_for(event, params, s3, region)
    except (UnknownInvocation, BadParameters, json.JSONDecodeError) as problem:
        logger.error(f"rejected: {problem}; nothing was reported", extra={"event": event})
        return {"status": "rejected", "reason": str(problem)}
    report(config, event["resultToken"], evaluations, test_mode)
    summary = {e["ComplianceResourceId"]: e["ComplianceType"] for e in evaluations}
    logger.info("evaluations reported", extra={"evaluations": summary})
    return {"status": "reported", "evaluations": summary}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    s3, config = _clients()
    region = os.environ["AWS_REGION"]
    return handle(event, s3, config, region=region, test_mode=os.environ.get("CONFIG_RULE_TEST_MODE") == "true")
