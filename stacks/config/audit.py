"""Audit and governance settings (R11, R12, R14): trail retention, findings routing, Audit Manager,
and whether the account's existing security baseline (Config recorder, GuardDuty detector, Macie
session) is used instead of creating one (docs/audit.md, "Existing security baseline")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.errors import ConfigError, require_email, require_log_retention, require_one_of, require_range

LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")
# HIPAA 45 CFR 164.316(b)(2)(i): documentation (audit logs included) is kept six years.
HIPAA_RETENTION_DAYS = 6 * 365
# The switches that adopt an existing security baseline instead of creating it.
BASELINE_SWITCHES = ("use_existing_config_recorder", "use_existing_guardduty_detector", "use_existing_macie_session")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def require_switch(key: str, value: object) -> None:
    """A switch is exactly True or False (1, "yes" or None are refused, not guessed)."""
    if not isinstance(value, bool):
        raise ConfigError(key, f"{value!r} is not a switch", "True or False")


@dataclass(frozen=True, kw_only=True)
class AuditConfig:
    # Object Lock on the CloudTrail bucket: COMPLIANCE in production (not even root can shorten it).
    trail_lock_mode: str
    trail_lock_days: int
    # The trail's CloudWatch Logs copy (metric filters, queries); the S3 copy is the record of proof.
    trail_log_retention_days: int
    # Trail log files move to Glacier Flexible Retrieval after this many days (rarely read).
    trail_archive_after_days: int
    # Object Lock on the Macie quarantine bucket (PHI found in the wrong place is evidence too).
    quarantine_lock_mode: str
    quarantine_lock_days: int
    # GuardDuty findings at or above this severity are routed (1.0-3.9 low, 4-6.9 medium, 7+ high).
    guardduty_min_severity: float
    security_email: str
    # Audit Manager needs a one-time account registration and the HIPAA framework's ID (only
    # visible in the account: `aws auditmanager list-assessment-frameworks --framework-type Standard`).
    audit_manager_enabled: bool
    audit_manager_framework_id: str | None = None
    # How long the findings notifier remembers a delivered finding (DynamoDB TTL).
    finding_memory_days: int = 90
    # Existing security baseline (Control Tower, a delegated administrator): each of these is a
    # one-per-account-per-region singleton. True = the account already has it in every region we
    # deploy to, so the stacks create none and nothing of ours references one; our rules,
    # remediations, custom rule, classification job and findings routing still deploy on top.
    # The existing Config recorder must record the resource types our rules evaluate (docs/audit.md).
    use_existing_config_recorder: bool = False
    use_existing_guardduty_detector: bool = False
    use_existing_macie_session: bool = False

    def validate(self, is_production: bool) -> None:
        for switch in BASELINE_SWITCHES:
            require_switch(f"audit.{switch}", getattr(self, switch))
        require_one_of("audit.trail_lock_mode", self.trail_lock_mode, LOCK_MODES)
        require_range("audit.trail_lock_days", self.trail_lock_days, 1, 36500)
        require_log_retention("audit.trail_log_retention_days", self.trail_log_retention_days)
        require_range("audit.trail_archive_after_days", self.trail_archive_after_days, 30, 36500)
        require_one_of("audit.quarantine_lock_mode", self.quarantine_lock_mode, LOCK_MODES)
        require_range("audit.quarantine_lock_days", self.quarantine_lock_days, 1, 36500)
        require_range("audit.guardduty_min_severity", self.guardduty_min_severity, 1.0, 8.9)
        require_range("audit.finding_memory_days", self.finding_memory_days, 1, 365)
        require_email("audit.security_email", self.security_email)
        if self.audit_manager_enabled and self.audit_manager_framework_id is None:
            raise ConfigError(
                "audit.audit_manager_framework_id",
                "Audit Manager is enabled without the HIPAA framework ID",
                "the ID from `aws auditmanager list-assessment-frameworks --framework-type Standard`, or audit_manager_enabled=False",
            )
        if self.audit_manager_framework_id is not None and not _UUID.match(self.audit_manager_framework_id):
            raise ConfigError("audit.audit_manager_framework_id", f"{self.audit_manager_framework_id!r} is not a framework ID", "a lower-case UUID")
        if is_production:
            if self.trail_lock_mode != "COMPLIANCE" or self.trail_lock_days < HIPAA_RETENTION_DAYS:
                raise ConfigError(
                    "audit.trail_lock_mode/trail_lock_days",
                    f"production has {self.trail_lock_mode} for {self.trail_lock_days} days",
                    f"COMPLIANCE for at least {HIPAA_RETENTION_DAYS} days (HIPAA six-year documentation rule) in production",
                )
            if self.trail_log_retention_days < 365:
                raise ConfigError("audit.trail_log_retention_days", f"{self.trail_log_retention_days} is below one year in production", "365 or more")
            if self.quarantine_lock_mode != "COMPLIANCE":
                raise ConfigError("audit.quarantine_lock_mode", "production quarantine must be COMPLIANCE", "COMPLIANCE in production")
        if self.trail_archive_after_days >= self.trail_lock_days and is_production:
            raise ConfigError("audit.trail_archive_after_days", "archiving after the lock ends saves nothing", "fewer days than trail_lock_days")


PRODUCTION = AuditConfig(
    trail_lock_mode="COMPLIANCE",
    trail_lock_days=HIPAA_RETENTION_DAYS,
    # 2192 is the first CloudWatch Logs retention at or above six years.
    trail_log_retention_days=2192,
    trail_archive_after_days=90,
    quarantine_lock_mode="COMPLIANCE",
    # Quarantined objects are PHI (PHI-tagged, checked by the PHI bucket Config rule): locked as long
    # as the PHI buckets (data.object_lock_days, 7 years, R7), which is beyond the HIPAA six years.
    quarantine_lock_days=7 * 365,
    guardduty_min_severity=4.0,
    security_email="security@medivault.example",
    # Off until the account is registered with Audit Manager and its HIPAA framework ID is known
    # (docs/audit.md, "Audit Manager"); the stack builds the assessment as soon as both are set.
    audit_manager_enabled=False,
)
SANDBOX = AuditConfig(
    trail_lock_mode="GOVERNANCE",
    trail_lock_days=1,
    trail_log_retention_days=30,
    trail_archive_after_days=30,
    quarantine_lock_mode="GOVERNANCE",
    quarantine_lock_days=1,
    guardduty_min_severity=4.0,
    security_email="security-sandbox@medivault.example",
    audit_manager_enabled=False,
)
