"""Backup and disaster-recovery settings (R15): plan retention, vault locks, readiness thresholds.

What the numbers must respect (AWS Backup rules, checked in ``validate``):
- continuous backups (point-in-time restore) keep at most 35 days;
- a vault lock refuses any backup or copy whose retention is outside [min, max]: the lock's
  minimum must not exceed the shortest retention written to the vault, its maximum must not be
  below the longest;
- a compliance-mode lock becomes immutable after its cooling-off period (``ChangeableForDays``,
  at least 3 days); a lock without one is a governance-mode lock that a privileged principal may
  remove (sandbox, so it can be torn down).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.errors import ConfigError, require_one_of, require_range

VAULT_LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")
CONTINUOUS_BACKUP_MAX_DAYS = 35  # AWS Backup: continuous backups are kept for 1 to 35 days
MIN_CHANGEABLE_FOR_DAYS = 3  # AWS Backup: the compliance-mode cooling-off period is at least 3 days
_CRON = re.compile(r"^cron\((\S+ ){5}\S+\)$")
_PRINCIPAL = re.compile(r"^role/[A-Za-z0-9+=,.@_*/-]{1,500}$")


@dataclass(frozen=True, kw_only=True)
class BackupConfig:
    # Daily snapshot rule (copied to the DR vault) and its copies' retention. Scheduled after
    # Aurora's automated backup window (01:00-02:00 UTC, data tier), which AWS Backup avoids.
    daily_schedule: str
    daily_retention_days: int
    # Continuous backup (point-in-time restore) in the primary region; 1..35 days. AWS Backup takes
    # over Aurora's automated backups and sets their retention to this value, so it must equal
    # data.aurora_backup_retention_days (checked in EnvironmentConfig) or the stack would drift.
    continuous_retention_days: int
    # Monthly snapshot rule (copied to the DR vault), kept long for audits and legal holds.
    monthly_schedule: str
    monthly_retention_days: int
    # Vault Lock on both vaults. COMPLIANCE needs vault_lock_changeable_for_days (cooling-off);
    # GOVERNANCE must leave it None.
    vault_lock_mode: str
    vault_lock_min_retention_days: int
    vault_lock_max_retention_days: int
    vault_lock_changeable_for_days: int | None
    # DR-readiness checker: newest recovery point in the primary vault / its copy in the DR vault.
    primary_max_age_hours: int = 26
    copy_max_age_hours: int = 30
    readiness_schedule: str = "cron(0 12 * * ? *)"
    # Restore testing: how often the latest Aurora recovery point is restored, and how long
    # (hours) the restored cluster may live before AWS Backup deletes it.
    restore_testing_schedule: str
    restore_testing_retain_hours: int = 4
    # Principals (IAM ARN paths after ``arn:<partition>:iam::<account>:``, wildcards allowed) the vault
    # access policy lets delete recovery points, so a sandbox can be torn down (tools/sandbox/teardown.py).
    # Production: none - the deny applies to everyone, and its COMPLIANCE lock would refuse anyway.
    teardown_principals: tuple[str, ...] = ()

    def validate(self, is_production: bool) -> None:
        for key, value in (
            ("backup.daily_schedule", self.daily_schedule),
            ("backup.monthly_schedule", self.monthly_schedule),
            ("backup.readiness_schedule", self.readiness_schedule),
            ("backup.restore_testing_schedule", self.restore_testing_schedule),
        ):
            if not _CRON.match(value):
                raise ConfigError(key, f"{value!r} is not a six-field cron expression", "e.g. cron(0 1 * * ? *)")
        require_range("backup.daily_retention_days", self.daily_retention_days, 1, 36500)
        require_range("backup.continuous_retention_days", self.continuous_retention_days, 1, CONTINUOUS_BACKUP_MAX_DAYS)
        require_range("backup.monthly_retention_days", self.monthly_retention_days, 1, 36500)
        if self.monthly_retention_days <= self.daily_retention_days:
            raise ConfigError(
                "backup.monthly_retention_days",
                f"{self.monthly_retention_days} is not longer than the daily retention ({self.daily_retention_days})",
                "more days than backup.daily_retention_days",
            )
        if is_production and self.daily_retention_days < 35:
            raise ConfigError("backup.daily_retention_days", f"{self.daily_retention_days} is below 35 in production", "35 or more in production")

        require_one_of("backup.vault_lock_mode", self.vault_lock_mode, VAULT_LOCK_MODES)
        if is_production and self.vault_lock_mode != "COMPLIANCE":
            raise ConfigError("backup.vault_lock_mode", f"production has {self.vault_lock_mode}", "COMPLIANCE in production")
        if self.vault_lock_mode == "COMPLIANCE":
            if self.vault_lock_changeable_for_days is None:
                raise ConfigError("backup.vault_lock_changeable_for_days", "COMPLIANCE mode needs a cooling-off period", "3 or more days")
            require_range("backup.vault_lock_changeable_for_days", self.vault_lock_changeable_for_days, MIN_CHANGEABLE_FOR_DAYS, 36500)
        elif self.vault_lock_changeable_for_days is not None:
            raise ConfigError(
                "backup.vault_lock_changeable_for_days",
                "a cooling-off period makes the lock COMPLIANCE mode, but GOVERNANCE is configured",
                "None in GOVERNANCE mode",
            )
        require_range("backup.vault_lock_min_retention_days", self.vault_lock_min_retention_days, 1, 36500)
        require_range("backup.vault_lock_max_retention_days", self.vault_lock_max_retention_days, 1, 36500)
        shortest = min(self.daily_retention_days, self.continuous_retention_days, self.monthly_retention_days)
        longest = max(self.daily_retention_days, self.continuous_retention_days, self.monthly_retention_days)
        if self.vault_lock_min_retention_days > shortest:
            raise ConfigError(
                "backup.vault_lock_min_retention_days",
                f"{self.vault_lock_min_retention_days} exceeds the shortest retention written to the vault ({shortest}): those jobs would fail",
                f"at most {shortest}",
            )
        if self.vault_lock_max_retention_days < longest:
            raise ConfigError(
                "backup.vault_lock_max_retention_days",
                f"{self.vault_lock_max_retention_days} is below the longest retention written to the vault ({longest}): those jobs would fail",
                f"at least {longest}",
            )

        require_range("backup.primary_max_age_hours", self.primary_max_age_hours, 1, 168)
        require_range("backup.copy_max_age_hours", self.copy_max_age_hours, 1, 168)
        if self.copy_max_age_hours < self.primary_max_age_hours:
            raise ConfigError(
                "backup.copy_max_age_hours",
                f"{self.copy_max_age_hours} h is below the primary threshold ({self.primary_max_age_hours} h): a copy is never newer",
                f"at least {self.primary_max_age_hours}",
            )
        require_range("backup.restore_testing_retain_hours", self.restore_testing_retain_hours, 1, 168)
        if self.teardown_principals and (is_production or self.vault_lock_mode != "GOVERNANCE"):
            raise ConfigError(
                "backup.teardown_principals",
                "recovery points may only be deletable in a GOVERNANCE-mode sandbox vault",
                "() in production or with a COMPLIANCE lock",
            )
        for principal in self.teardown_principals:
            if not _PRINCIPAL.match(principal):
                raise ConfigError("backup.teardown_principals", f"{principal!r} is not an IAM role path", "role/<path>/<name>, * allowed")


PRODUCTION = BackupConfig(
    daily_schedule="cron(0 3 * * ? *)",
    daily_retention_days=35,
    continuous_retention_days=35,
    monthly_schedule="cron(0 5 1 * ? *)",
    monthly_retention_days=2557,  # 7 years, like the PHI buckets' Object Lock (R7)
    vault_lock_mode="COMPLIANCE",
    vault_lock_min_retention_days=35,
    vault_lock_max_retention_days=3653,
    vault_lock_changeable_for_days=3,
    restore_testing_schedule="cron(0 5 ? * SUN *)",  # weekly
)

SANDBOX = BackupConfig(
    daily_schedule="cron(0 3 * * ? *)",
    daily_retention_days=7,
    continuous_retention_days=1,
    monthly_schedule="cron(0 5 1 * ? *)",
    monthly_retention_days=30,
    vault_lock_mode="GOVERNANCE",
    vault_lock_min_retention_days=1,
    vault_lock_max_retention_days=60,
    vault_lock_changeable_for_days=None,
    restore_testing_schedule="cron(0 5 1 * ? *)",  # monthly
    # Who tears a sandbox down: people signed in through IAM Identity Center (R3), or the role AWS
    # Organizations creates in a new member account. Trade-off: in the sandbox a person with such a
    # role can delete (synthetic) recovery points; the lock is GOVERNANCE for the same reason.
    teardown_principals=("role/aws-reserved/sso.amazonaws.com/*", "role/OrganizationAccountAccessRole"),
)
