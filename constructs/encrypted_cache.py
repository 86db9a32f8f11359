"""ElastiCache (Valkey or Redis OSS) replication group for sessions and hot reference data (R8).

- in the isolated data subnets, behind the cache security group (6379 from the app tier only);
- ``replicas`` = 0: one node (sandbox); otherwise one primary plus replicas spread over the
  given AZs, Multi-AZ with automatic failover (production: 3 nodes over 3 AZs);
- encrypted at rest with the customer-managed key, TLS required in transit;
- AUTH token generated into Secrets Manager (encrypted with the key) and passed to ElastiCache
  as a dynamic reference, so it never appears in the template or in code (R10); rotated every
  ``rotation_days`` by lambda/mv_secret_rotation with ElastiCache's ROTATE strategy (the group
  accepts the current and the new token, so clients switch without an outage; the previous token
  stays valid until the next rotation), from inside the VPC: its security group reaches only the
  interface endpoints (Secrets Manager, ElastiCache API), HTTPS;
- daily snapshots kept ``snapshot_retention_days``; slow log and engine log delivered as JSON to
  KMS-encrypted CloudWatch log groups with retention;
- the AUTH secret is tagged ``data-class=phi`` (it opens the cache, which holds PHI sessions and
  profiles; constructs/data_classification.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.data_classification import tag_phi
from constructs.egress import closed_security_group
from constructs.secret_rotation import SecretRotation
from constructs.traceability import trace

REDIS_PORT = 6379
# r7g, t4g, m7g...: Graviton node families.
GRAVITON_NODE_TYPE = re.compile(r"cache\.[a-z]+\d+g\..+")


@dataclass(frozen=True, kw_only=True)
class CacheSettings:
    engine: str  # valkey | redis
    engine_version: str
    node_type: str
    replicas: int
    snapshot_retention_days: int
    rotation_days: int


@dataclass(frozen=True, kw_only=True)
class CacheRotationNetwork:
    """Where the token-rotation function runs and the one group it may talk to (the interface
    endpoints' security group: Secrets Manager and ElastiCache API endpoints)."""

    subnets: ec2.SubnetSelection
    endpoint_security_group: ec2.ISecurityGroup


class EncryptedCache(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: CacheSettings,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        availability_zones: list[str],
        security_group: ec2.ISecurityGroup,
        encryption_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        rotation_network: CacheRotationNetwork,
        queue_key: kms.IKey,
        powertools_layer_version: int,
    ) -> None:
        super().__init__(scope, construct_id)
        nodes = 1 + settings.replicas
        if nodes > 1 and nodes > len(availability_zones) * 2:
            raise ValueError("EncryptedCache: too many replicas for the AZs given")
        multi_az = settings.replicas > 0

        # ElastiCache AUTH: 16-128 printable characters without @, " or /; alphanumerics only here.
        self.auth_secret = secretsmanager.Secret(
            self,
            "AuthToken",
            description="MediVault cache AUTH token (clients read it at runtime)",
            encryption_key=encryption_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=64),
            removal_policy=removal_policy,
        )
        tag_phi(self.auth_secret)  # opens the cache, which holds PHI sessions and profiles
        self.subnet_group = elasticache.CfnSubnetGroup(
            self,
            "SubnetGroup",
            description="MediVault cache: isolated data subnets",
            subnet_ids=vpc.select_subnets(
                subnet_group_name=subnets.subnet_group_name, subnet_type=subnets.subnet_type, subnets=subnets.subnets
            ).subnet_ids,
        )
        self.subnet_group.apply_removal_policy(removal_policy)
        self.slow_log = logs.LogGroup(self, "SlowLog", encryption_key=logs_key, retention=log_retention, removal_policy=removal_policy)
        self.engine_log = logs.LogGroup(self, "EngineLog", encryption_key=logs_key, retention=log_retention, removal_policy=removal_policy)

        def delivery(log_type: str, group: logs.ILogGroup) -> elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty:
            return elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty(
                destination_type="cloudwatch-logs",
                destination_details=elasticache.CfnReplicationGroup.DestinationDetailsProperty(
                    cloud_watch_logs_details=elasticache.CfnReplicationGroup.CloudWatchLogsDestinationDetailsProperty(log_group=group.log_group_name)
                ),
                log_format="json",
                log_type=log_type,
            )

        self.replication_group = elasticache.CfnReplicationGroup(
            self,
            "ReplicationGroup",
            replication_group_description="MediVault sessions and hot reference data",
            engine=settings.engine,
            engine_version=settings.engine_version,
            cache_node_type=settings.node_type,
            num_cache_clusters=nodes,
            preferred_cache_cluster_a_zs=[availability_zones[i % len(availability_zones)] for i in range(nodes)],
            multi_az_enabled=multi_az,
            automatic_failover_enabled=multi_az,
            port=REDIS_PORT,
            cache_subnet_group_name=self.subnet_group.ref,
            security_group_ids=[security_group.security_group_id],
            at_rest_encryption_enabled=True,
            kms_key_id=encryption_key.key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=self.auth_secret.secret_value.unsafe_unwrap(),  # a {{resolve:secretsmanager:...}} reference, not the value
            auto_minor_version_upgrade=True,
            snapshot_retention_limit=settings.snapshot_retention_days,
            snapshot_window="01:00-02:00",
            preferred_maintenance_window="sun:03:30-sun:04:30",
            log_delivery_configurations=[delivery("slow-log", self.slow_log), delivery("engine-log", self.engine_log)],
        )
        self.replication_group.apply_removal_policy(removal_policy)
        if not multi_az:
            acknowledge(
                self.replication_group,
                "AwsSolutions-AEC4",
                "Sandbox only: a single cache node keeps the sandbox cheap; production runs a primary and two replicas over "
                "three AZs with Multi-AZ and automatic failover (config data.cache_replicas, validated >= 2 in production).",
            )
        self.endpoint_address = self.replication_group.attr_primary_end_point_address
        self.port = REDIS_PORT

        # --- AUTH-token rotation (R10) ---
        self.rotation_security_group = closed_security_group(
            self, "RotationSecurityGroup", vpc=vpc, description="Cache AUTH-token rotation: HTTPS to the VPC interface endpoints only"
        )
        self.rotation_security_group.add_egress_rule(
            rotation_network.endpoint_security_group, ec2.Port.tcp(443), "Secrets Manager and ElastiCache APIs via their VPC endpoints"
        )
        stack = cdk.Stack.of(self)
        group_arn = stack.format_arn(
            service="elasticache", resource="replicationgroup", resource_name=self.replication_group.ref, arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME
        )
        self.rotation = SecretRotation(
            self,
            "TokenRotation",
            secret=self.auth_secret,
            secret_key=encryption_key,
            target="cache-auth-token",
            environment={"REPLICATION_GROUP_ID": self.replication_group.ref},
            description="Rotates the cache AUTH token (ElastiCache ROTATE strategy)",
            rotation_days=settings.rotation_days,
            vpc=vpc,
            subnets=rotation_network.subnets,
            security_group=self.rotation_security_group,
            logs_key=logs_key,
            queue_key=queue_key,
            log_retention=log_retention,
            removal_policy=removal_policy,
            powertools_layer_version=powertools_layer_version,
        )
        # Service Authorization Reference (ElastiCache): both actions take the replicationgroup ARN.
        self.rotation.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RotateTheAuthToken",
                actions=["elasticache:DescribeReplicationGroups", "elasticache:ModifyReplicationGroup"],
                resources=[group_arn],
            )
        )
        # The first rotation starts when the schedule is created: the group must be available by then.
        self.rotation.schedule.node.add_dependency(self.replication_group)
        trace(
            self,
            ["R8", "R10"],
            ["performance-efficiency", "security", "reliability"],
            "Valkey/Redis replication group over three AZs with failover, TLS required, AUTH token in Secrets Manager "
            f"rotated every {settings.rotation_days} days (ROTATE: old and new token valid while clients switch).",
        )
        if GRAVITON_NODE_TYPE.fullmatch(settings.node_type):
            trace(
                self,
                ["R8"],
                ["sustainability", "performance-efficiency"],
                f"Cache nodes are Graviton ({settings.node_type}): less energy for the same throughput.",
            )
