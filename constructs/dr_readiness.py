"""The DR-readiness checker (R13, R15): daily, the newest recovery point of every protected resource
in the primary vault and its copy in the DR vault are checked against age thresholds; one alarm per
resource pages the alert topic when either is stale or missing, or the checker did not run.

A ``MediVaultFunction`` subclass (``mv_dr_readiness``; role, log group, dead-letter queue and function
keep their ids), its schedule and alarms below it. Its security group is created beside it in the
same scope as ``<id>SecurityGroup`` (the id it has always had: a Lambda's group is replaced only
after its ENIs are released): the one group with an internet path (through NAT), because AWS
Backup in the DR region has no endpoint in this VPC (cross-region PrivateLink does not include
Backup). Its role reads recovery-point metadata only, no PHI. Primary-region Backup and CloudWatch
resolve to the VPC interface endpoints (private DNS) and stay inside the VPC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct
from constructs.alert_topic import notify
from constructs.egress import closed_security_group
from constructs.medivault_function import FunctionSettings, MediVaultFunction
from constructs.traceability import trace

METRIC_NAMESPACE = "MediVault/DR"


@dataclass(frozen=True, kw_only=True)
class ReadinessSettings:
    primary_max_age_hours: int
    copy_max_age_hours: int
    schedule: str  # EventBridge schedule expression, e.g. cron(0 12 * * ? *)
    dr_region: str
    metric_namespace: str = METRIC_NAMESPACE


class ReadinessChecker(MediVaultFunction):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ReadinessSettings,
        function: FunctionSettings,
        primary_vault: backup.IBackupVault,
        dr_vault: backup.IBackupVault,
        resource_arns: Sequence[str],
        topic: sns.ITopic,
    ) -> None:
        if not resource_arns:
            raise ValueError("ReadinessChecker: resource_arns is empty; nothing would be checked")
        # Created in the parent scope before this construct exists (see the module docstring).
        security_group = closed_security_group(
            scope,
            f"{construct_id}SecurityGroup",
            vpc=function.vpc,
            description="DR-readiness checker: HTTPS to AWS Backup (both regions) and CloudWatch",
        )
        security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS Backup in the DR region (no cross-region endpoint)")
        stack = cdk.Stack.of(scope)
        super().__init__(
            scope,
            construct_id,
            source="mv_dr_readiness",
            description="Daily: newest recovery point per resource in the primary vault (<26 h) and its DR copy (<30 h)",
            timeout=cdk.Duration.minutes(5),
            reserved_concurrency=1,
            environment={
                "PRIMARY_VAULT_NAME": primary_vault.backup_vault_name,
                "DR_VAULT_NAME": dr_vault.backup_vault_name,
                "DR_REGION": settings.dr_region,
                "PROTECTED_RESOURCE_ARNS": stack.to_json_string(list(resource_arns)),
                "PRIMARY_MAX_AGE_HOURS": str(settings.primary_max_age_hours),
                "COPY_MAX_AGE_HOURS": str(settings.copy_max_age_hours),
                "METRIC_NAMESPACE": settings.metric_namespace,
            },
            settings=function,
            security_group=security_group,
        )
        self.security_group = security_group
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["backup:ListRecoveryPointsByBackupVault"], resources=[dr_vault.backup_vault_arn, primary_vault.backup_vault_arn]
            )
        )
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=["backup:ListRecoveryPointsByResource"], resources=["*"]))
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": settings.metric_namespace}},
            )
        )
        # The role's IAM5[Resource::*] acknowledgment is written by MediVaultFunction from the actions above.
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="Run the DR-readiness checker daily",
            schedule=events.Schedule.expression(settings.schedule),
            targets=[targets.LambdaFunction(self.function, retry_attempts=2, dead_letter_queue=self.dead_letter_queue)],
        )
        trace(
            self.schedule, ["R15"], ["reliability", "operational-excellence"], "The DR-readiness check runs every day without anyone remembering to."
        )
        self.alarms: list[cw.Alarm] = []
        for index, arn in enumerate(resource_arns):
            alarm = cw.Alarm(
                self,
                f"NotDrReady{index}",
                alarm_description="A protected resource has no fresh recovery point in the primary vault or no fresh copy in the DR vault "
                "(or the checker did not run). Runbook: docs/disaster-recovery.md.",
                metric=cw.Metric(
                    namespace=settings.metric_namespace,
                    metric_name="DrReady",
                    dimensions_map={"ResourceArn": arn},
                    statistic="Minimum",
                    period=cdk.Duration.days(1),
                ),
                threshold=1,
                comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cw.TreatMissingData.BREACHING,
            )
            notify(alarm, topic)
            self.alarms.append(alarm)
        trace(self, ["R13", "R15"], ["reliability", "operational-excellence"], "Stale or missing backups or DR copies page ops within a day.")
