"""Retention of the evidence buckets that cannot carry Object Lock (R12, R14; issue 15 item 6).

HIPAA 45 CFR 164.316(b)(2)(i) keeps the documentation of the security rule's policies, procedures
and required activities six years from creation. The activity records these buckets hold are that
documentation (information-system activity review, 164.308(a)(1)(ii)(D); audit controls,
164.312(b)), so production keeps every one at least ``HIPAA_RETENTION_DAYS``; ``validate`` refuses
less. Per bucket (all in eu-central-1):

- ``phi_access_log_days``: S3 server access logs of the PHI buckets, i.e. who read or wrote which
  patient object: kept as long as the PHI itself (7 years, R7), so every access to a record can be
  shown for as long as the record exists.
- ``evidence_access_log_days``: S3 server access logs of the evidence buckets (trail, Config,
  quarantine, CloudFront logs): who read the evidence; six years.
- ``config_history_days``: AWS Config snapshots and configuration history, the record of how every
  resource was configured when (R14); six years.
- ``alb_log_days`` / ``cloudfront_log_days``: load balancer and CloudFront access logs: the record
  of requests into the system, needed to investigate an incident after the fact; six years. They
  hold client IP addresses (personal data under GDPR): keeping them is a legal-obligation purpose
  (GDPR Art. 6(1)(c), 17(3)(b)) and they expire when the HIPAA period ends.

None of these buckets can take an Object Lock default retention (S3 server access logging and AWS
Config refuse Object Lock destinations; ELB and CloudFront document no support), so the bucket
policies deny deletion and reconfiguration to all but break-glass (``constructs/evidence_protection.py``)
and lifecycle never expires a version before these periods.

``teardown_principals`` (sandbox only; production must leave it empty): IAM ARN patterns that may
also delete objects and the bucket, so ``make destroy-sandbox`` can empty and remove the buckets.
The sandbox allows the CDK CloudFormation execution role and IAM Identity Center roles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.audit import HIPAA_RETENTION_DAYS
from stacks.config.errors import ConfigError, require_range

_ARN_PATTERN = re.compile(r"^arn:aws:iam::(\*|\d{12}):role/[\w+=,.@/*-]+$")
SANDBOX_TEARDOWN_PRINCIPALS = (
    "arn:aws:iam::*:role/cdk-hnb659fds-cfn-exec-role-*",
    "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*",
)


@dataclass(frozen=True, kw_only=True)
class EvidenceConfig:
    phi_access_log_days: int
    evidence_access_log_days: int
    config_history_days: int
    alb_log_days: int
    cloudfront_log_days: int
    teardown_principals: tuple[str, ...] = ()

    def retention_days(self) -> dict[str, int]:
        return {
            "evidence.phi_access_log_days": self.phi_access_log_days,
            "evidence.evidence_access_log_days": self.evidence_access_log_days,
            "evidence.config_history_days": self.config_history_days,
            "evidence.alb_log_days": self.alb_log_days,
            "evidence.cloudfront_log_days": self.cloudfront_log_days,
        }

    def validate(self, is_production: bool) -> None:
        for key, days in self.retention_days().items():
            require_range(key, days, 1, 36500)
            if is_production and days < HIPAA_RETENTION_DAYS:
                raise ConfigError(
                    key, f"{days} days in production", f"at least {HIPAA_RETENTION_DAYS} (6 years, HIPAA 45 CFR 164.316(b)(2)) in production"
                )
        for pattern in self.teardown_principals:
            if not _ARN_PATTERN.match(pattern):
                raise ConfigError(
                    "evidence.teardown_principals", f"{pattern!r} is not an IAM role ARN pattern", "arn:aws:iam::<account or *>:role/<path/name>"
                )
        if is_production and self.teardown_principals:
            raise ConfigError(
                "evidence.teardown_principals", "production evidence must not be deletable by a teardown role", "() in production (break-glass only)"
            )


PRODUCTION = EvidenceConfig(
    phi_access_log_days=7 * 365 + 2,  # the PHI lock (2555 days) plus the days a log file takes to arrive
    evidence_access_log_days=HIPAA_RETENTION_DAYS,
    config_history_days=HIPAA_RETENTION_DAYS,
    alb_log_days=HIPAA_RETENTION_DAYS,
    cloudfront_log_days=HIPAA_RETENTION_DAYS,
)
# Short and deletable: a sandbox holds no real patient data and must tear down cleanly.
SANDBOX = EvidenceConfig(
    phi_access_log_days=30,
    evidence_access_log_days=30,
    config_history_days=30,
    alb_log_days=30,
    cloudfront_log_days=30,
    teardown_principals=SANDBOX_TEARDOWN_PRINCIPALS,
)
