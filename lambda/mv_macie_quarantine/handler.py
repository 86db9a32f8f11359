"""Macie finding -> move the object out of the non-PHI bucket into the locked quarantine bucket.

EventBridge invokes this asynchronously for ``SensitiveData:S3Object/*`` Macie findings.
Outcomes:
- quarantined / already-quarantined (a redelivery): a short notice on the security topic;
- skipped (a PHI or evidence bucket: PHI belongs there, evidence stays put) or missing: logged, and a notice for ``missing``;
- not a sensitive-data object finding, or malformed: one error log line, ``rejected``; no S3 call;
- any AWS error before the source is deleted (AccessDenied on HeadObject included: it is not
  "missing"): logged as an error and re-raised, so Lambda retries and then keeps the event in the
  dead-letter queue; the source object is never deleted unless its copy was verified.

Layers: this module loads the settings, builds the quarantine and shapes
the result; ``logic`` reads the finding and decides each step; ``dal`` is the only module that
calls S3 and SNS.

Environment (read on the first invocation): QUARANTINE_BUCKET, QUARANTINE_KEY_ARN, TOPIC_ARN,
PHI_TAG (key=value), PROTECTED_BUCKETS (optional, comma-separated).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mv_macie_quarantine import dal
from mv_macie_quarantine.logic import NotAQuarantineFinding, Quarantine, notice, parse_finding
from mv_shared.observability import logger, reject, tracer
from mv_shared.settings import Env, Lazy, arn, key_value, name_set


@dataclass(frozen=True)
class Settings:
    quarantine_bucket: Annotated[str, Env("QUARANTINE_BUCKET")]
    kms_key_arn: Annotated[str, Env("QUARANTINE_KEY_ARN", arn("kms"))]
    topic_arn: Annotated[str, Env("TOPIC_ARN")]
    # The data-classification object tag (key, value) every quarantine copy carries.
    phi_tag: Annotated[tuple[str, str], Env("PHI_TAG", key_value)]
    protected_buckets: Annotated[frozenset[str], Env("PROTECTED_BUCKETS", name_set)] = frozenset()


SETTINGS = Lazy(Settings)


def handle(event: Any, settings: Settings, s3: Any, sns: Any) -> dict[str, str]:
    try:
        finding = parse_finding(event)
    except NotAQuarantineFinding as problem:
        reject(f"{problem} (no object was touched)", event)
        return {"status": "rejected", "reason": str(problem)}
    quarantine = Quarantine(
        dal.S3Objects(s3),
        quarantine_bucket=settings.quarantine_bucket,
        kms_key_arn=settings.kms_key_arn,
        protected_buckets=settings.protected_buckets,
        phi_tag=settings.phi_tag,
    )
    where = {"bucket": finding.bucket, "key": finding.key, "finding_id": finding.finding_id}
    try:
        outcome = quarantine.move(finding)
    except Exception as error:
        logger.error(f"quarantine failed, the source object is kept; the event will be retried: {type(error).__name__}: {error}", extra=where)
        raise
    log = logger.warning if outcome.status == "missing" else logger.info
    log(f"{outcome.status}: {outcome.detail}", extra=where)
    if outcome.status != "skipped":
        dal.SnsTopic(sns, settings.topic_arn).publish(*notice(outcome))
    return {"status": outcome.status, "detail": outcome.detail}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    s3, sns = dal.clients()
    return handle(event, SETTINGS.get(), s3, sns)
