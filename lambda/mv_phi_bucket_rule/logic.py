"""Pure logic of the custom Config rule ``medivault-phi-bucket-lock``.

A bucket tagged as PHI (``data-class=phi`` by default) is COMPLIANT only if it has
- Object Lock enabled with a default retention in the required mode and at least the required days,
- versioning enabled,
- default encryption SSE-KMS with the MediVault data key.
Any other bucket is NOT_APPLICABLE. This module decides; the S3 reads are ``dal.S3Buckets``
(reached through ``Buckets``) and the report is sent by the handler through ``dal``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

COMPLIANT = "COMPLIANT"
NON_COMPLIANT = "NON_COMPLIANT"
NOT_APPLICABLE = "NOT_APPLICABLE"
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")
BUCKET = "AWS::S3::Bucket"
GONE = ("ResourceDeleted", "ResourceDeletedNotRecorded", "ResourceNotRecorded")


class UnknownInvocation(ValueError):
    """The invocation is not a Config rule event this rule handles."""


class BadParameters(ValueError):
    """The rule's input parameters are missing or invalid (message says which)."""


@dataclass(frozen=True)
class RuleParameters:
    lock_mode: str
    min_retention_days: int
    kms_key_arn: str
    tag_key: str = "data-class"
    tag_value: str = "phi"

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> RuleParameters:
        mode = raw.get("lockMode")
        if mode not in LOCK_MODES:
            raise BadParameters(f"lockMode {mode!r} is not one of {', '.join(LOCK_MODES)}")
        days = str(raw.get("minRetentionDays", ""))
        if not days.isdigit() or int(days) < 1:
            raise BadParameters(f"minRetentionDays {raw.get('minRetentionDays')!r} is not a positive integer")
        key = raw.get("kmsKeyArn")
        if not isinstance(key, str) or not key.startswith("arn:") or ":key/" not in key:
            raise BadParameters(f"kmsKeyArn {key!r} is not a KMS key ARN")
        return cls(
            lock_mode=str(mode),
            min_retention_days=int(days),
            kms_key_arn=key,
            tag_key=str(raw.get("tagKey") or "data-class"),
            tag_value=str(raw.get("tagValue") or "phi"),
        )


@dataclass(frozen=True)
class BucketState:
    name: str
    tags: dict[str, str]
    # GetObjectLockConfiguration's ObjectLockConfiguration, or None if Object Lock is not enabled.
    object_lock: dict[str, Any] | None
    versioning_status: str | None  # "Enabled", "Suspended" or None (never enabled)
    # GetBucketEncryption's rules, or [] if the bucket has no default encryption configuration.
    encryption_rules: list[dict[str, Any]]


def retention_days(rule: dict[str, Any]) -> int:
    """A default retention in days. Object Lock allows Days or Years, never both; some readers
    (moto) report the unset one as 0, so the non-zero one counts."""
    days = int(rule.get("Days") or 0)
    return days if days else int(rule.get("Years") or 0) * 365


def same_key(configured_arn: str, bucket_key: str | None) -> bool:
    """S3 may report the key as an ARN or a bare key id."""
    if not bucket_key:
        return False
    return bucket_key == configured_arn or configured_arn.endswith(f":key/{bucket_key}")


def evaluate(bucket: BucketState, params: RuleParameters) -> tuple[str, str]:
    """(compliance type, annotation of at most 256 characters)."""
    if bucket.tags.get(params.tag_key) != params.tag_value:
        return NOT_APPLICABLE, f"not tagged {params.tag_key}={params.tag_value}"
    problems: list[str] = []
    lock = bucket.object_lock or {}
    if lock.get("ObjectLockEnabled") != "Enabled":
        problems.append("Object Lock is not enabled")
    else:
        default = (lock.get("Rule") or {}).get("DefaultRetention")
        if not default:
            problems.append("no default retention")
        else:
            if default.get("Mode") != params.lock_mode:
                problems.append(f"lock mode {default.get('Mode')} is not {params.lock_mode}")
            days = retention_days(default)
            if days < params.min_retention_days:
                problems.append(f"retention {days} days is below {params.min_retention_days}")
    if bucket.versioning_status != "Enabled":
        problems.append(f"versioning is {bucket.versioning_status or 'off'}")
    defaults = [r.get("ApplyServerSideEncryptionByDefault") or {} for r in bucket.encryption_rules]
    if not any(d.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse") and same_key(params.kms_key_arn, d.get("KMSMasterKeyID")) for d in defaults):
        problems.append("default encryption is not SSE-KMS with the data key")
    if problems:
        text = "; ".join(problems)
        return NON_COMPLIANT, text if len(text) <= 256 else text[:253] + "..."
    return COMPLIANT, f"Object Lock {params.lock_mode} >= {params.min_retention_days} days, versioned, data key"


class Buckets(Protocol):
    """What the rule reads of S3 (dal.S3Buckets)."""

    def state(self, name: str) -> BucketState | None:
        """The bucket's state, or None if it no longer exists."""
        ...

    def names_in(self, region: str) -> list[str]: ...


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


def _evaluate_one(buckets: Buckets, params: RuleParameters, name: str, when: datetime) -> dict[str, Any]:
    state = buckets.state(name)
    if state is None:
        return _evaluation(name, NOT_APPLICABLE, "bucket no longer exists", when)
    compliance, annotation = evaluate(state, params)
    return _evaluation(name, compliance, annotation, when)


def evaluations_for(event: dict[str, Any], params: RuleParameters, buckets: Buckets, region: str) -> list[dict[str, Any]]:
    invoking = json.loads(event["invokingEvent"])
    if not isinstance(invoking, dict):
        raise UnknownInvocation("invokingEvent is not a JSON object")
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
        return [_evaluate_one(buckets, params, name, when)]
    if message_type == "ScheduledNotification":
        when = _timestamp(invoking.get("notificationCreationTime"))
        return [_evaluate_one(buckets, params, name, when) for name in buckets.names_in(region)]
    raise UnknownInvocation(f"message type {message_type!r} is not handled")
