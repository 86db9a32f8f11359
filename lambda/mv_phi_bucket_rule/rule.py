"""Pure logic of the custom Config rule ``medivault-phi-bucket-lock``.

A bucket tagged as PHI (``data-class=phi`` by default) is COMPLIANT only if it has
- Object Lock enabled with a default retention in the required mode and at least the required days,
- versioning enabled,
- default encryption SSE-KMS with the MediVault data key.
Any other bucket is NOT_APPLICABLE. The S3 reads live in ``handler.py``; this module decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COMPLIANT = "COMPLIANT"
NON_COMPLIANT = "NON_COMPLIANT"
NOT_APPLICABLE = "NOT_APPLICABLE"
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


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
