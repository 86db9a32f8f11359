"""The AWS Backup plan of the data tier (R15) and the service role it runs as.

- ``DrBackupPlan`` (a ``backup.BackupPlan`` subclass: its id ``Plan`` and its selections keep their
  logical IDs): a daily and a monthly snapshot rule, both copied to the DR vault, and a continuous
  (point-in-time restore, at most 35 days) rule kept in the primary region; selections by resource
  and by the ``backup=required`` tag. Aurora and S3 cannot move recovery points to cold storage
  (AWS Backup "Feature availability by resource"), so no rule sets a cold-storage transition.
- ``BackupServiceRole`` (a role subclass, id kept): the four AWS-managed policies AWS Backup
  documents for backing up and restoring Aurora and S3, each acknowledged with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.data_classification import backup_tag_selection
from constructs.managed_policy_role import ManagedPolicyRole

# AWS-managed policies AWS Backup documents for its service role; S3 needs its own two, with the reason each is acknowledged.
BACKUP_MANAGED_POLICIES = {
    "service-role/AWSBackupServiceRolePolicyForBackup": "AWS Backup's documented service-role policy; AWS maintains it as the service "
    "adds the calls each resource type needs.",
    "service-role/AWSBackupServiceRolePolicyForRestores": "AWS Backup's documented restore policy, needed for restores and the "
    "restore-testing plan; maintained by AWS.",
    "AWSBackupServiceRolePolicyForS3Backup": "S3 backups require this AWS-managed policy (AWS Backup docs: S3 backup prerequisites); "
    "the general backup policy lacks S3 rights.",
    "AWSBackupServiceRolePolicyForS3Restore": "S3 restores need this AWS-managed policy (AWS Backup docs, S3 restore prerequisites); "
    "needed to restore PHI buckets after a disaster.",
}


class BackupServiceRole(ManagedPolicyRole):
    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(
            scope,
            construct_id,
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            description=description,
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in BACKUP_MANAGED_POLICIES],
        )
        for name, reason in BACKUP_MANAGED_POLICIES.items():
            acknowledge(self, f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]", reason)


@dataclass(frozen=True, kw_only=True)
class BackupPlanSettings:
    name: str
    daily_schedule: str
    daily_retention_days: int
    monthly_schedule: str
    monthly_retention_days: int
    continuous_retention_days: int


class DrBackupPlan(backup.BackupPlan):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: BackupPlanSettings,
        vault: backup.IBackupVault,
        dr_vault: backup.IBackupVault,
    ) -> None:
        days, hours = cdk.Duration.days, cdk.Duration.hours
        s = settings

        def copy(retention: int) -> list[backup.BackupPlanCopyActionProps]:
            return [backup.BackupPlanCopyActionProps(destination_backup_vault=dr_vault, delete_after=days(retention))]

        super().__init__(
            scope,
            construct_id,
            backup_plan_name=s.name,
            backup_vault=vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="Daily",
                    schedule_expression=events.Schedule.expression(s.daily_schedule),
                    start_window=hours(1),
                    completion_window=hours(8),
                    delete_after=days(s.daily_retention_days),
                    copy_actions=copy(s.daily_retention_days),
                ),
                backup.BackupPlanRule(
                    rule_name="Monthly",
                    schedule_expression=events.Schedule.expression(s.monthly_schedule),
                    start_window=hours(1),
                    completion_window=hours(24),
                    delete_after=days(s.monthly_retention_days),
                    copy_actions=copy(s.monthly_retention_days),
                ),
                # Point-in-time restore in the primary region (Aurora and S3 both support it).
                backup.BackupPlanRule(
                    rule_name="Continuous",
                    schedule_expression=events.Schedule.expression(s.daily_schedule),
                    start_window=hours(1),
                    completion_window=hours(8),
                    enable_continuous_backup=True,
                    delete_after=days(s.continuous_retention_days),
                ),
            ],
        )

    def protect(self, *, resource_arns: Sequence[str], role: iam.IRole) -> None:
        """Select ``resource_arns`` and everything tagged ``backup=required``, run as ``role``."""
        self.add_selection(
            "ByResource",
            backup_selection_name="aurora-and-phi-buckets",
            resources=[backup.BackupResource.from_arn(arn) for arn in resource_arns],
            role=role,
            disable_default_backup_policy=True,
        )
        self.add_selection(
            "ByTag",
            backup_selection_name="tagged-backup-required",
            resources=[backup_tag_selection()],
            role=role,
            disable_default_backup_policy=True,
        )
