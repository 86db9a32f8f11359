"""Restore testing of the Aurora cluster (R15): AWS Backup restores the latest snapshot of the primary
vault on a schedule, into the cluster's own subnet group and security groups, and deletes it again
after the validation window.

``AuroraRestoreTesting`` is a ``backup.CfnRestoreTestingPlan`` subclass: the plan has a fixed name,
so it keeps its id (``RestoreTestingPlan`` under the stack); its selection is created beside it in
the same scope under the id it has always had (``RestoreTestingAurora``).
AWS Backup would otherwise infer the restore's network placement, defaulting to the default VPC
(absent in hardened accounts, and outside the isolated data tier):
https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing-inferred-metadata.html
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds
from constructs import Construct


@dataclass(frozen=True, kw_only=True)
class RestoreTestingSettings:
    name: str
    schedule: str  # cron(...)
    validation_window_hours: int  # how long the restored cluster lives before AWS Backup deletes it
    selection_window_days: int = 7
    start_window_hours: int = 24


class AuroraRestoreTesting(backup.CfnRestoreTestingPlan):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: RestoreTestingSettings,
        vault: backup.IBackupVault,
        database: rds.IDatabaseCluster,
        role: iam.IRole,
    ) -> None:
        subnet_group = database.node.try_find_child("Subnets")
        if not isinstance(subnet_group, rds.SubnetGroup):
            raise ValueError("AuroraRestoreTesting: the database cluster has no subnet group child 'Subnets' to restore tests into")
        super().__init__(
            scope,
            construct_id,
            restore_testing_plan_name=settings.name,
            schedule_expression=settings.schedule,
            start_window_hours=settings.start_window_hours,
            recovery_point_selection=backup.CfnRestoreTestingPlan.RestoreTestingRecoveryPointSelectionProperty(
                algorithm="LATEST_WITHIN_WINDOW",
                include_vaults=[vault.backup_vault_arn],
                recovery_point_types=["SNAPSHOT"],
                selection_window_days=settings.selection_window_days,
            ),
        )
        stack = cdk.Stack.of(scope)
        self.selection = backup.CfnRestoreTestingSelection(
            scope,
            "RestoreTestingAurora",
            restore_testing_plan_name=self.ref,
            restore_testing_selection_name="aurora_cluster",
            protected_resource_type="Aurora",
            protected_resource_arns=[database.cluster_arn],
            iam_role_arn=role.role_arn,
            restore_metadata_overrides={
                "dbsubnetgroupname": subnet_group.subnet_group_name,
                "vpcsecuritygroupids": stack.to_json_string([g.security_group_id for g in database.connections.security_groups]),
            },
            validation_window_hours=settings.validation_window_hours,
        )
