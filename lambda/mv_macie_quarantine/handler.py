"""Macie finding -> move the object out of the non-PHI bucket into the locked quarantine bucket.

EventBridge invokes this asynchronously for ``SensitiveData:S3Object/*`` Macie findings.
Outcomes:
- quarantined / already-quarantined (a redelivery): a short notice on the security topic;
- skipped (a PHI or evidence bucket: PHI belongs there, evidence stays put) or missing: logged, and a notice for ``missing``;
- not a sensitive-data object finding, or malformed: one error log line, ``rejected``; no S3 call;
- any AWS error before the source is deleted: re-raised, so Lambda retries and then keeps the event
  in the dead-letter queue; the source object is never deleted unless its copy was verified.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from mv_macie_quarantine.quarantine import NotAQuarantineFinding, Outcome, Quarantine, parse_finding

logger = Logger()
tracer = Tracer()

REQUIRED_ENV = ("QUARANTINE_BUCKET", "QUARANTINE_KEY_ARN", "TOPIC_ARN", "PHI_TAG")


@dataclass(frozen=True)
class Settings:
    quarantine_bucket: str
    kms_key_arn: str
    topic_arn: str
    protected_buckets: frozenset[str]
    # The data-classification object tag (key, value) every quarantine copy carries.
    phi_tag: tuple[str, str]


def load_settings(environ: dict[str, str] | os._Environ[str] = os.environ) -> Settings:
    missing = [name for name in REQUIRED_ENV if not environ.get(name)]
    if missing:
        raise RuntimeError(f"mv_macie_quarantine: missing environment variables {', '.join(missing)}")
    protected = frozenset(b.strip() for b in environ.get("PROTECTED_BUCKETS", "").split(",") if b.strip())
    tag_key, _, tag_value = environ["PHI_TAG"].partition("=")
    if not tag_key or not tag_value:
        raise RuntimeError(f"mv_macie_quarantine: PHI_TAG must be key=value, got {environ['PHI_TAG']!r}")
    return Settings(
        quarantine_bucket=environ["QUARANTINE_BUCKET"],
        kms_key_arn=environ["QUARANTINE_KEY_ARN"],
        topic_arn=environ["TOPIC_ARN"],
        protected_buckets=protected,
        phi_tag=(tag_key, tag_value),
    )


@functools.cache
def _clients() -> tuple[Any, Any]:
    return boto3.client("s3"), boto3.client("sns")


def notify(sns: Any, topic_arn: str, outcome: Outcome) -> None:
    finding = outcome.finding
    subject = f"[HIGH] Macie: object {outcome.status} ({finding.finding_type})"[:100]
    message = "\n".join(
        [
            f"What:     sensitive data found by Macie; object {outcome.status}",
            f"Object:   s3://{finding.bucket}/{finding.key} (version {finding.version_id or 'none'})",
            f"Result:   {outcome.detail}",
            f"Finding:  {finding.finding_id}",
        ]
    )
    sns.publish(TopicArn=topic_arn, Subject=subject, Message=message)


def handle(event: Any, settings: Settings, s3: Any, sns: Any) -> dict[str, str]:
    try:
        finding = parse_finding(event)
    except NotAQuarantineFinding as problem:
        logger.error(f"rejected: {problem}; no object was touched", extra={"event": event})
        return {"status": "rejected", "reason": str(problem)}
    quarantine = Quarantine(
        s3,
        quarantine_bucket=settings.quarantine_bucket,
        kms_key_arn=settings.kms_key_arn,
        protected_buckets=settings.protected_buckets,
        phi_tag=settings.phi_tag,
    )
    outcome = quarantine.move(finding)
    log = logger.warning if outcome.status == "missing" else logger.info
    log(f"{outcome.status}: {outcome.detail}", extra={"bucket": finding.bucket, "key": finding.key, "finding_id": finding.finding_id})
    if outcome.status != "skipped":
        notify(sns, settings.topic_arn, outcome)
    return {"status": outcome.status, "detail": outcome.detail}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    s3, sns = _clients()
    return handle(event, load_settings(), s3, sns)
