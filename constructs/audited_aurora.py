"""Aurora PostgreSQL Serverless v2 for patient records (R6, R10): encrypted, audited, rotated.

- writer + one reader (Serverless v2, the reader scales with the writer so a failover lands on
  a warm instance) pinned to two different AZs, in the isolated data subnets;
- storage and Performance Insights / Database Insights encrypted with the customer-managed key;
- TLS forced (``rds.force_ssl=1``, TLS 1.2 minimum), connections/disconnections logged, pgaudit
  (below); the PostgreSQL log goes to a KMS-encrypted CloudWatch log group
  created here first (with retention), so RDS never creates an unencrypted one;
- IAM database authentication on: the service logs in as its own role ``medivault_service`` with
  IAM tokens (roles and grants: service/medivault_service/migrations, docs/database.md); master
  credentials generated into Secrets Manager (encrypted with the key) and rotated by a function
  inside the VPC that reaches Secrets Manager through its interface endpoint. The master secret
  is for the deploy-time migration task, rotation and break-glass only;
- pgaudit is preloaded here (``shared_preload_libraries``) and logs DDL and role changes of every
  session; the first migration creates the extension and audits the service role's reads and
  writes (``ALTER ROLE medivault_service SET pgaudit.log = 'read, write'``);
- Enhanced Monitoring with a role of our own (no AWS-managed policy);
- deletion protection and RETAIN where the config says so (production);
- tagged ``data-class=phi`` (constructs/data_classification.py): the cluster, its instances and its
  master secret -- what holds or opens PHI, not the subnet or parameter groups. AWS Backup selects the
  cluster by resource (the backup stack), not by the ``backup`` tag.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.compliance import acknowledge, ignore_cfn_lint
from constructs.data_classification import tag_phi
from constructs.managed_policy_role import ManagedPolicyRole
from constructs.traceability import trace

MASTER_USERNAME = "mvadmin"
POSTGRES_PORT = 5432
# Characters the rotation function and libpq connection strings handle badly.
CONNECTION_STRING_UNSAFE_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"
AUDIT_PARAMETERS = {
    "rds.force_ssl": "1",
    "ssl_min_protocol_version": "TLSv1.2",
    "log_connections": "1",
    "log_disconnections": "1",
    "shared_preload_libraries": "pg_stat_statements,pgaudit",
    "pgaudit.log": "ddl,role",
    "pgaudit.log_parameter": "0",
    "pgaudit.log_catalog": "0",
}


@dataclass(frozen=True, kw_only=True)
class AuroraSettings:
    identifier: str
    engine_version: str  # e.g. "17.7"
    min_acu: float
    auto_pause_minutes: int | None
    max_acu: float
    backup_retention_days: int
    insights_mode: str  # STANDARD | ADVANCED
    monitoring_interval_seconds: int
    rotation_days: int
    deletion_protection: bool


class AuditedAurora(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: AuroraSettings,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        availability_zones: list[str],
        security_group: ec2.ISecurityGroup,
        encryption_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
        rotation_subnets: ec2.SubnetSelection,
        rotation_security_group: ec2.ISecurityGroup,
        secrets_manager_endpoint: ec2.IInterfaceVpcEndpoint,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        major = settings.engine_version.split(".")[0]
        engine = rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.of(settings.engine_version, major))
        self.parameter_group = rds.ParameterGroup(
            self,
            "ClusterParameters",
            engine=engine,
            description="MediVault: TLS only, connection logging, pgaudit (DDL, roles)",
            parameters=AUDIT_PARAMETERS,
        )
        # RDS would create this group itself, unencrypted and kept forever; created first, it is ours.
        self.log_group = logs.LogGroup(
            self,
            "PostgresqlLog",
            log_group_name=f"/aws/rds/cluster/{settings.identifier}/postgresql",
            encryption_key=logs_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.monitoring_role = ManagedPolicyRole(
            self,
            "MonitoringRole",
            assumed_by=iam.ServicePrincipal("monitoring.rds.amazonaws.com"),
            description="RDS Enhanced Monitoring publishes OS metrics to the RDSOSMetrics log group",
        )
        metrics_group = f"arn:{cdk.Aws.PARTITION}:logs:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:log-group:RDSOSMetrics"
        self.monitoring_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["logs:CreateLogGroup", "logs:PutRetentionPolicy"], resources=[metrics_group])
        )
        self.monitoring_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"],
                resources=[f"{metrics_group}:log-stream:*"],
            )
        )
        acknowledge(
            self.monitoring_role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:RDSOSMetrics:log-stream:*]",
            "Enhanced Monitoring names one log stream per DB instance resource ID, assigned at creation; the role is limited "
            "to streams of the single RDSOSMetrics log group (same scope as AWS's managed policy, without its log-group wildcard).",
        )

        advanced = settings.insights_mode == "ADVANCED"
        insights = {
            "enable_performance_insights": True,
            "performance_insight_encryption_key": encryption_key,
            "performance_insight_retention": rds.PerformanceInsightRetention.MONTHS_15 if advanced else rds.PerformanceInsightRetention.DEFAULT,
        }
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=engine,
            cluster_identifier=settings.identifier,
            writer=rds.ClusterInstance.serverless_v2(
                "Writer",
                availability_zone=availability_zones[0],
                auto_minor_version_upgrade=True,
                **insights,  # type: ignore[arg-type]
            ),
            readers=[
                rds.ClusterInstance.serverless_v2(
                    "Reader",
                    scale_with_writer=True,
                    availability_zone=availability_zones[1],
                    auto_minor_version_upgrade=True,
                    **insights,  # type: ignore[arg-type]
                )
            ],
            serverless_v2_min_capacity=settings.min_acu,
            serverless_v2_auto_pause_duration=(
                cdk.Duration.minutes(settings.auto_pause_minutes) if settings.auto_pause_minutes is not None else None
            ),
            serverless_v2_max_capacity=settings.max_acu,
            vpc=vpc,
            vpc_subnets=subnets,
            port=POSTGRES_PORT,
            security_groups=[security_group],
            credentials=rds.Credentials.from_generated_secret(
                MASTER_USERNAME, encryption_key=encryption_key, exclude_characters=CONNECTION_STRING_UNSAFE_CHARACTERS
            ),
            storage_encrypted=True,
            storage_encryption_key=encryption_key,
            parameter_group=self.parameter_group,
            iam_authentication=True,
            deletion_protection=settings.deletion_protection,
            backup=rds.BackupProps(retention=cdk.Duration.days(settings.backup_retention_days), preferred_window="01:00-02:00"),
            preferred_maintenance_window="sun:02:30-sun:03:30",
            copy_tags_to_snapshot=True,
            cloudwatch_logs_exports=["postgresql"],
            database_insights_mode=rds.DatabaseInsightsMode.ADVANCED if advanced else rds.DatabaseInsightsMode.STANDARD,
            monitoring_interval=cdk.Duration.seconds(settings.monitoring_interval_seconds),
            monitoring_role=self.monitoring_role,
            removal_policy=removal_policy,
            **insights,  # type: ignore[arg-type]
        )
        # Only the cluster waits for the log group (RDS would otherwise create it on first export).
        cluster_resource = self.cluster.node.default_child
        log_group_resource = self.log_group.node.default_child
        if isinstance(cluster_resource, cdk.CfnResource) and isinstance(log_group_resource, cdk.CfnResource):
            cluster_resource.add_resource_dependency(log_group_resource)
        for instance in ("Writer", "Reader"):
            ignore_cfn_lint(
                self.cluster.node.find_child(instance),
                "W3010",
                "Writer and reader are pinned to two named AZs from typed config on purpose (R1/R6: the reader survives the "
                "writer's AZ); synth runs offline with no AZ lookups.",
            )
        secret = self.cluster.secret
        if secret is None:  # from_generated_secret always yields one
            raise RuntimeError("AuditedAurora: the cluster has no generated secret")
        self.secret: secretsmanager.ISecret = secret
        # ``cluster.secret`` is the target attachment; the generated secret itself is a child.
        generated = self.cluster.node.find_child("Secret")
        if not isinstance(generated, secretsmanager.Secret):
            raise RuntimeError("AuditedAurora: the cluster's generated secret was not found")
        generated.apply_removal_policy(removal_policy)

        # The rotation function connects to the cluster through ``security_group`` on the literal
        # port: SecretRotation adds "rotation -> database 5432" to the groups given, and with a literal
        # port that is the very rule the network stack already holds (no rule depends on this stack).
        self.rotation = secretsmanager.SecretRotation(
            self,
            "Rotation",
            application=secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
            secret=self.secret,
            target=ec2.Connections(security_groups=[security_group], default_port=ec2.Port.tcp(POSTGRES_PORT)),
            automatically_after=cdk.Duration.days(settings.rotation_days),
            vpc=vpc,
            vpc_subnets=rotation_subnets,
            security_group=rotation_security_group,
            endpoint=secrets_manager_endpoint,
            exclude_characters=CONNECTION_STRING_UNSAFE_CHARACTERS,
        )

        # The cluster, its instances and its generated master secret (children of the cluster); not
        # the subnet group or other plumbing, so the tag means "holds or opens PHI".
        for part in ("Resource", "Writer", "Reader", "Secret"):
            tag_phi(self.cluster.node.find_child(part))
        self._acknowledge(settings, cluster_resource)
        trace(
            self,
            ["R6", "R10"],
            ["security", "reliability", "cost-optimisation"],
            "Aurora PostgreSQL Serverless v2 writer + reader in two AZs, KMS-encrypted, TLS forced, pgaudit, "
            f"master secret rotated every {settings.rotation_days} days inside the VPC; scales down when idle.",
        )
        trace(
            self,
            ["R6"],
            ["sustainability", "cost-optimisation"],
            "Aurora Serverless v2 follows the load in ACUs instead of an always-on instance size"
            + (f"; it pauses at 0 ACU after {settings.auto_pause_minutes} idle minutes." if settings.auto_pause_minutes else "."),
        )

    def _acknowledge(self, settings: AuroraSettings, cluster_resource: object) -> None:
        for instance in ("Writer", "Reader"):
            acknowledge(
                self.cluster.node.find_child(instance),
                "HIPAA.Security-RDSInBackupPlan",
                "Known cdk-nag false positive: the rule flags Aurora DB instances, but Aurora is backed up per cluster; the "
                "cluster is in the AWS Backup plan (backup stack) and keeps 35 days of automated backups in production.",
            )
        if settings.deletion_protection:
            return
        if not isinstance(cluster_resource, cdk.CfnResource):
            raise RuntimeError("AuditedAurora: no CloudFormation resource to acknowledge on")
        for rule in ("AwsSolutions-RDS10", "HIPAA.Security-RDSInstanceDeletionProtectionEnabled"):
            acknowledge(
                cluster_resource,
                rule,
                "Sandbox only: deletion protection is off so the sandbox can be torn down; production has it on (tested).",
            )
