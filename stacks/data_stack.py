"""Data tier (R6, R7, R8, R10, R11): PHI buckets, Aurora, the cache, Macie. Stateful.

Public attributes (what other stacks use): ``records_bucket``, ``imaging_bucket``, ``phi_buckets``,
``access_log_bucket``, ``database``, ``database_secret``, ``cache_replication_group``,
``cache_auth_secret``, ``cache_endpoint_address``, ``cache_port``. ``database_secret`` is the Aurora
master secret: only the deploy-time migration task may read it (docs/database.md); the service
connects with IAM database authentication as its own role.

The stack wires constructs and maps the environment's config onto their settings: ``phi_storage``
(constructs/phi_storage.py: access-log bucket, Records and Imaging PHI buckets), ``AuditedAurora``,
``EncryptedCache`` and ``MacieDiscovery``. Tags, acknowledgments and traces live with the construct that
creates the resource.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.audited_aurora import AuditedAurora, AuroraSettings
from constructs.egress import AwsApiPaths
from constructs.encrypted_cache import CacheRotationNetwork, CacheSettings, EncryptedCache
from constructs.log_retention import retention
from constructs.macie_discovery import MacieDiscovery
from constructs.phi_storage import PhiStorageSettings, phi_storage

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig
from stacks.evidence import evidence_protection


class DataStack(MediVaultStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        data_subnets: ec2.SubnetSelection,
        app_subnets: ec2.SubnetSelection,
        database_security_group: ec2.ISecurityGroup,
        cache_security_group: ec2.ISecurityGroup,
        rotation_security_group: ec2.ISecurityGroup,
        secrets_manager_endpoint: ec2.IInterfaceVpcEndpoint,
        aws_apis: AwsApiPaths,
        data_key: kms.IKey,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=config.primary_region,
            description="PHI buckets, Aurora PostgreSQL, cache, Macie",
            stateful=True,
        )
        # The Keys stack owns its key policies. Referenced by ARN, the keys take no statements from
        # this stack (Secrets Manager's L2, for one, would add an account-wide grant to the data key
        # policy); permissions this stack needs go to its own roles, within the key's ViaService rules.
        data_key = kms.Key.from_key_arn(self, "DataKeyRef", data_key.key_arn)
        logs_key = kms.Key.from_key_arn(self, "LogsKeyRef", logs_key.key_arn)
        data = config.data
        removal = config.removal_policy
        log_retention = retention(config.log_retention_days)
        azs = list(config.network.availability_zones)

        # --- S3: server access logs, then the two PHI buckets (R7, R12) ---
        storage = phi_storage(
            self,
            settings=PhiStorageSettings(
                object_lock_mode=data.object_lock_mode,
                object_lock_days=data.object_lock_days,
                access_log_days=config.evidence.phi_access_log_days,
                removal_policy=removal,
            ),
            encryption_key=data_key,
            protection=evidence_protection(config),
        )
        self.access_log_bucket: s3.IBucket = storage.access_log_bucket
        self.records_bucket: s3.IBucket = storage.records_bucket
        self.imaging_bucket: s3.IBucket = storage.imaging_bucket
        self.phi_buckets: list[s3.IBucket] = storage.phi_buckets

        # --- Aurora PostgreSQL Serverless v2 (R6, R10) ---
        aurora = AuditedAurora(
            self,
            "Aurora",
            settings=_aurora_settings(config),
            vpc=vpc,
            subnets=data_subnets,
            availability_zones=azs,
            encryption_key=data_key,
            logs_key=logs_key,
            log_retention=log_retention,
            removal_policy=removal,
            security_group=database_security_group,
            rotation_subnets=app_subnets,
            rotation_security_group=rotation_security_group,
            secrets_manager_endpoint=secrets_manager_endpoint,
        )
        self.database: rds.DatabaseCluster = aurora.cluster
        self.database_secret: secretsmanager.ISecret = aurora.secret

        # --- Cache (R8) ---
        cache = EncryptedCache(
            self,
            "Cache",
            settings=_cache_settings(config),
            vpc=vpc,
            subnets=data_subnets,
            availability_zones=azs,
            encryption_key=data_key,
            logs_key=logs_key,
            log_retention=log_retention,
            removal_policy=removal,
            security_group=cache_security_group,
            rotation_network=CacheRotationNetwork(subnets=app_subnets, endpoint_security_group=aws_apis.endpoint_security_group),
            queue_key=data_key,
            powertools_layer_version=config.powertools_layer_version,
        )
        self.cache_replication_group: elasticache.CfnReplicationGroup = cache.replication_group
        self.cache_auth_secret: secretsmanager.ISecret = cache.auth_secret
        self.cache_endpoint_address: str = cache.endpoint_address
        self.cache_port: int = cache.port

        # --- Macie (R11): the non-PHI buckets; the audit stack's buckets join this list later ---
        self.macie = MacieDiscovery(
            self,
            "Macie",
            buckets=[self.access_log_bucket],
            schedule_day=data.macie_schedule_day,
            job_name_prefix=f"medivault-{config.name}-non-phi-discovery",
            vpc=vpc,
            function_subnets=app_subnets,
            aws_apis=aws_apis,
            logs_key=logs_key,
            queue_key=data_key,
            log_retention=log_retention,
            removal_policy=removal,
            powertools_layer_version=config.powertools_layer_version,
            create_session=not config.audit.use_existing_macie_session,
        )


def _aurora_settings(config: EnvironmentConfig) -> AuroraSettings:
    data = config.data
    return AuroraSettings(
        identifier=f"medivault-{config.name}-records",
        engine_version=data.aurora_engine_version,
        min_acu=data.aurora_min_acu,
        auto_pause_minutes=data.aurora_auto_pause_minutes,
        max_acu=data.aurora_max_acu,
        backup_retention_days=data.aurora_backup_retention_days,
        insights_mode=data.database_insights_mode,
        monitoring_interval_seconds=data.aurora_monitoring_interval_seconds,
        rotation_days=data.secret_rotation_days,
        deletion_protection=config.is_production,
    )


def _cache_settings(config: EnvironmentConfig) -> CacheSettings:
    data = config.data
    return CacheSettings(
        engine=data.cache_engine,
        engine_version=data.cache_engine_version,
        node_type=data.cache_node_type,
        replicas=data.cache_replicas,
        snapshot_retention_days=data.cache_snapshot_retention_days,
        rotation_days=data.secret_rotation_days,
    )
