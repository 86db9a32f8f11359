"""Backups of the data tier (R15) in eu-central-1, copied to the DR vault in eu-west-1.

- a KMS-encrypted primary vault with Vault Lock and no deletion of recovery points;
- one plan: a daily snapshot rule and a monthly long-retention rule, both copied to the DR vault,
  and a continuous (point-in-time restore, at most 35 days) rule kept in the primary region;
- selections: the Aurora cluster and the PHI buckets by resource, and anything tagged
  ``backup=required`` (a resource added later is protected once tagged);
- backup / copy / restore job failures -> EventBridge -> an encrypted SNS topic (e-mail);
- a Backup Audit Manager framework (frequency, retention, cross-region copy, vault lock, ...);
- a restore-testing plan that restores the latest Aurora snapshot on a schedule and deletes it;
- the DR-readiness checker (``lambda/mv_dr_readiness``), daily, with one alarm per resource.

The stack wires constructs, each keeping the logical IDs its resources had here: ``LockedVault``,
``DrBackupPlan`` / ``BackupServiceRole`` (constructs/backup_plan.py), ``AlertTopic`` and
``BackupJobFailures`` (constructs/backup_job_alerts.py), ``BackupAuditFramework``,
``AuroraRestoreTesting`` (constructs/restore_testing.py) and ``ReadinessChecker``
(constructs/dr_readiness.py).

Cross-region reference: the copy actions need the DR vault's ARN from the eu-west-1 stack. The app
uses *weak* references (cdk.json ``@aws-cdk/core:defaultCrossStackReferences: weak``): the value is
read at deploy time with ``Fn::GetStackOutput`` and no export locks the DR stack, so replacing the
DR vault never blocks a deploy with "Exports cannot be updated". See docs/disaster-recovery.md.
"""

from __future__ import annotations

from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.alert_topic import AlertTopic
from constructs.backup_audit_framework import BackupAuditFramework, BackupFrameworkSettings
from constructs.backup_job_alerts import BackupJobFailures, notifications_key
from constructs.backup_plan import BackupPlanSettings, BackupServiceRole, DrBackupPlan
from constructs.dr_readiness import ReadinessChecker, ReadinessSettings
from constructs.locked_vault import LockedVault
from constructs.log_retention import retention
from constructs.medivault_function import FunctionSettings
from constructs.restore_testing import AuroraRestoreTesting, RestoreTestingSettings
from constructs.traceability import trace

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig


class BackupStack(MediVaultStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        database: rds.IDatabaseCluster,
        buckets: list[s3.IBucket],
        backup_key: kms.IKey,
        dr_vault: backup.IBackupVault,
        logs_key: kms.IKey,
        vpc: ec2.IVpc,
        function_subnets: ec2.SubnetSelection,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=config.primary_region,
            description="AWS Backup: locked primary vault, plan with cross-region copies, restore testing, DR readiness",
            stateful=True,
            cross_region_references=True,
        )
        if not buckets:
            raise ValueError("BackupStack: at least one PHI bucket must be protected")
        settings = config.backup
        removal = config.removal_policy

        # ---- primary vault ----------------------------------------------------------------
        self.vault = LockedVault(
            self,
            "PrimaryVault",
            vault_name=f"medivault-{config.name}-primary",
            key=backup_key,
            min_retention_days=settings.vault_lock_min_retention_days,
            max_retention_days=settings.vault_lock_max_retention_days,
            changeable_for_days=settings.vault_lock_changeable_for_days,
            removal_policy=removal,
            teardown_principal_arns=[f"arn:{self.partition}:iam::{self.account}:{p}" for p in settings.teardown_principals],
        ).vault
        trace(self.vault, ["R15"], ["reliability", "security"], "Recovery points in Frankfurt are KMS-encrypted and locked against deletion.")

        # ---- plan, service role and selections ---------------------------------------------
        self.plan = DrBackupPlan(
            self,
            "Plan",
            settings=BackupPlanSettings(
                name=f"medivault-{config.name}",
                daily_schedule=settings.daily_schedule,
                daily_retention_days=settings.daily_retention_days,
                monthly_schedule=settings.monthly_schedule,
                monthly_retention_days=settings.monthly_retention_days,
                continuous_retention_days=settings.continuous_retention_days,
            ),
            vault=self.vault,
            dr_vault=dr_vault,
        )
        trace(
            self.plan,
            ["R15"],
            ["reliability"],
            "Daily and monthly snapshots copied to eu-west-1, plus continuous backup for point-in-time restore in Frankfurt.",
        )
        self.backup_role = BackupServiceRole(
            self, "BackupRole", description="AWS Backup: back up, copy and restore (incl. restore testing) the Aurora cluster and PHI buckets"
        )
        self.plan.protect(resource_arns=[database.cluster_arn, *(b.bucket_arn for b in buckets)], role=self.backup_role)

        # ---- failure notifications ---------------------------------------------------------
        # The stack's own KMS-encrypted topic to the ops e-mail. The same key encrypts the DR-readiness
        # checker's dead-letter queue, which EventBridge also writes to.
        topic_key = notifications_key(
            self,
            "NotificationsKey",
            purpose="backup notifications",
            alias=f"alias/medivault/{config.name}/backup-notifications",
            removal_policy=removal,
        )
        # Ops and the security officer: a failed backup of PHI is a contingency-plan event (HIPAA
        # 164.308(a)(7)); the audit tier's findings notifier no longer routes Backup events (one rule).
        self.topic = AlertTopic(
            self,
            "Notifications",
            display_name=f"MediVault {config.name} backup alerts",
            key=topic_key,
            emails=[config.alarm_email, config.audit.security_email],
        )
        self.job_failures = BackupJobFailures(self, "JobFailures", topic=self.topic)
        trace(self.job_failures, ["R13", "R15"], ["operational-excellence", "reliability"], "A failed backup, copy or restore job e-mails ops.")

        # ---- Backup Audit Manager ------------------------------------------------------------
        self.framework = BackupAuditFramework(
            self,
            "Framework",
            settings=BackupFrameworkSettings(
                name=f"medivault_{config.name}_backup",
                description="MediVault R15: daily backups kept long enough, encrypted, locked, copied to eu-west-1",
                daily_retention_days=settings.daily_retention_days,
                vault_lock_min_retention_days=settings.vault_lock_min_retention_days,
                vault_lock_max_retention_days=settings.vault_lock_max_retention_days,
                dr_region=config.dr_region,
                max_recovery_point_age_hours=settings.primary_max_age_hours,
            ),
        )
        trace(
            self.framework,
            ["R14", "R15"],
            ["security", "reliability"],
            "Backup Audit Manager evaluates frequency, retention, locks and cross-region copies daily.",
        )

        # ---- restore testing (Aurora) --------------------------------------------------------
        self.restore_testing_plan = AuroraRestoreTesting(
            self,
            "RestoreTestingPlan",
            settings=RestoreTestingSettings(
                name=f"medivault_{config.name}_aurora",
                schedule=settings.restore_testing_schedule,
                validation_window_hours=settings.restore_testing_retain_hours,
            ),
            vault=self.vault,
            database=database,
            role=self.backup_role,
        )
        self.restore_testing_selection = self.restore_testing_plan.selection
        trace(
            self.restore_testing_plan,
            ["R15"],
            ["reliability"],
            "The latest Aurora snapshot is restored on a schedule and deleted again, proving backups restore.",
        )

        # ---- DR-readiness checker --------------------------------------------------------------
        self.readiness = ReadinessChecker(
            self,
            "Readiness",
            settings=ReadinessSettings(
                primary_max_age_hours=settings.primary_max_age_hours,
                copy_max_age_hours=settings.copy_max_age_hours,
                schedule=settings.readiness_schedule,
                dr_region=config.dr_region,
            ),
            function=FunctionSettings(
                vpc=vpc,
                vpc_subnets=function_subnets,
                security_group=None,  # its own: the one group with a path to AWS Backup in the DR region
                logs_key=logs_key,
                queue_key=topic_key,
                log_retention=retention(config.log_retention_days),
                removal_policy=removal,
                powertools_layer_version=config.powertools_layer_version,
            ),
            primary_vault=self.vault,
            dr_vault=dr_vault,
            resource_arns=[database.cluster_arn, *(b.bucket_arn for b in buckets)],
            topic=self.topic,
        )
        self.readiness_function = self.readiness.function
        self.readiness_alarms = self.readiness.alarms
