"""The Backup Audit Manager framework (R14, R15): AWS Backup evaluates, daily, that the protected
Aurora cluster and S3 buckets are in a plan, backed up daily and kept long enough, encrypted, under a
vault lock, copied to the DR region and recently backed up.

A ``backup.CfnFramework`` subclass: the framework has a fixed name, so its logical ID (``Framework``
under the stack) must not move. ControlScope is untyped JSON in the CloudFormation schema: CDK
passes it through as given.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_backup as backup
from constructs import Construct

SCOPE_TYPES = {"ComplianceResourceTypes": ["Aurora", "S3"]}


@dataclass(frozen=True, kw_only=True)
class BackupFrameworkSettings:
    name: str
    description: str
    daily_retention_days: int
    vault_lock_min_retention_days: int
    vault_lock_max_retention_days: int
    dr_region: str
    max_recovery_point_age_hours: int


def control(
    name: str, params: dict[str, str] | None = None, scope: dict[str, list[str]] | None = None
) -> backup.CfnFramework.FrameworkControlProperty:
    return backup.CfnFramework.FrameworkControlProperty(
        control_name=name,
        control_input_parameters=[
            backup.CfnFramework.ControlInputParameterProperty(parameter_name=k, parameter_value=v) for k, v in (params or {}).items()
        ]
        or None,
        control_scope=scope,
    )


class BackupAuditFramework(backup.CfnFramework):
    def __init__(self, scope: Construct, construct_id: str, *, settings: BackupFrameworkSettings) -> None:
        s = settings
        super().__init__(
            scope,
            construct_id,
            framework_name=s.name,
            framework_description=s.description,
            framework_controls=[
                control("BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN", scope=SCOPE_TYPES),
                control(
                    "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
                    {"requiredFrequencyUnit": "days", "requiredFrequencyValue": "1", "requiredRetentionDays": str(s.daily_retention_days)},
                ),
                control("BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK", {"requiredRetentionDays": str(s.vault_lock_min_retention_days)}),
                control("BACKUP_RECOVERY_POINT_ENCRYPTED"),
                control("BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED"),
                control(
                    "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK",
                    {"minRetentionDays": str(s.vault_lock_min_retention_days), "maxRetentionDays": str(s.vault_lock_max_retention_days)},
                    SCOPE_TYPES,
                ),
                control("BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION", {"crossRegionList": s.dr_region}, SCOPE_TYPES),
                control(
                    "BACKUP_LAST_RECOVERY_POINT_CREATED",
                    {"recoveryPointAgeUnit": "hours", "recoveryPointAgeValue": str(s.max_recovery_point_age_hours)},
                    SCOPE_TYPES,
                ),
            ],
        )
