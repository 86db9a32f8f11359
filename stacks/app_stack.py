"""App tier (R4, R5, R10, R13): the containerised service on Fargate behind an internet-facing ALB
that admits only CloudFront.

    CloudFront --HTTPS + secret origin header--> ALB (public subnets, TLS 1.2/1.3)
        --app port--> Fargate tasks (ARM64, private app subnets, 3 AZs) --TLS--> Aurora / Redis

This stack wires two constructs and maps the environment's config onto their settings:
``AppService`` (constructs/app_service.py: cluster, roles, task definition, containers, the schema
migration, the Fargate service, its target group and autoscaling) and ``CloudFrontOnlyAlb``
(constructs/cloudfront_only_alb.py: ALB, listeners, access logs, the origin-header secret and its rotation).
Security groups of the tiers come from the Network stack (constructs/tier_security_groups.py).
"""

from __future__ import annotations

from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.app_service import AppService, AppServiceSettings, RecordsStorage, ServiceCache, ServiceDatabase, ServiceNetwork, SignIn
from constructs.cloudfront_only_alb import AlbDomain, AlbSettings, CloudFrontOnlyAlb, alb_certificate
from constructs.log_retention import retention

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig
from stacks.evidence import evidence_protection


class AppStack(MediVaultStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        app_subnets: ec2.SubnetSelection,
        alb_security_group: ec2.ISecurityGroup,
        app_security_group: ec2.ISecurityGroup,
        migration_security_group: ec2.ISecurityGroup,
        migration_trigger_security_group: ec2.ISecurityGroup,
        database: rds.IDatabaseCluster,
        database_secret: secretsmanager.ISecret,
        cache_auth_secret: secretsmanager.ISecret,
        cache_endpoint_address: str,
        cache_endpoint_port: str,
        records_bucket: s3.IBucket,
        imaging_bucket: s3.IBucket,
        data_key: kms.IKey,
        logs_key: kms.IKey,
        user_pool: cognito.IUserPool | None = None,
        user_pool_client: cognito.IUserPoolClient | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=config.primary_region,
            description="ECS Fargate service behind an ALB that admits only CloudFront",
        )
        if (user_pool is None) != (user_pool_client is None):
            raise ValueError("AppStack: user_pool and user_pool_client go together (both or neither)")
        self.database = database  # for dashboards and alarms that pair service and database metrics
        self.origin_header_name = config.app.origin_header_name
        domain = config.domain
        alb_domain = (
            AlbDomain(
                domain_name=domain.domain_name,
                origin_domain_name=domain.origin_domain_name,
                hosted_zone_id=domain.hosted_zone_id,
                hosted_zone_name=domain.hosted_zone_name,
            )
            if domain
            else None
        )
        self.service = AppService(
            self,
            "Service",
            settings=_service_settings(config),
            network=ServiceNetwork(
                vpc=vpc,
                subnets=app_subnets,
                service_security_group=app_security_group,
                migration_security_group=migration_security_group,
                migration_trigger_security_group=migration_trigger_security_group,
            ),
            database=ServiceDatabase(cluster=database, master_secret=database_secret, master_secret_key=data_key),
            cache=ServiceCache(address=cache_endpoint_address, port=cache_endpoint_port, auth_secret=cache_auth_secret),
            storage=RecordsStorage(records_bucket=records_bucket, imaging_bucket=imaging_bucket, data_key=data_key),
            logs_key=logs_key,
            sign_in=SignIn(user_pool=user_pool, user_pool_client=user_pool_client) if user_pool and user_pool_client else None,
        )
        self.load_balancer = CloudFrontOnlyAlb(
            self,
            "LoadBalancer",
            settings=_alb_settings(config),
            vpc=vpc,
            security_group=alb_security_group,
            target_group=self.service.target_group,
            certificate=alb_certificate(
                self, domain=alb_domain, certificate_arn=config.app.certificate_arn, placeholder=config.app.has_placeholder_certificate
            ),
            evidence_protection=evidence_protection(config),
            rotation_subnets=app_subnets,
            secret_key=data_key,
            logs_key=logs_key,
        )
        self.service.scale_on_requests()  # now that the ALB forwards to the service's target group
        # What other stacks use (Edge, Audit, Observability).
        self.access_log_bucket = self.load_balancer.access_log_bucket
        self.target_group = self.service.target_group
        self.listener = self.load_balancer.https_listener
        self.origin_secret = self.load_balancer.origin_secret
        self.origin_rule = self.load_balancer.origin_rule
        self.origin_rotation = self.load_balancer.origin_rotation
        self.cluster = self.service.cluster
        self.migration = self.service.migration


def _alb_settings(config: EnvironmentConfig) -> AlbSettings:
    return AlbSettings(
        origin_header_name=config.app.origin_header_name,
        deletion_protection=config.is_production,
        access_log_days=config.evidence.alb_log_days,
        secret_rotation_days=config.data.secret_rotation_days,
        distribution_parameter_name=f"/medivault/{config.name}/edge/distribution-id",
        origin_domain_name=config.domain.origin_domain_name if config.domain else None,
        log_retention=retention(config.log_retention_days),
        removal_policy=config.removal_policy,
        powertools_layer_version=config.powertools_layer_version,
    )


def _service_settings(config: EnvironmentConfig) -> AppServiceSettings:
    app = config.app
    return AppServiceSettings(
        cpu=app.cpu,
        memory_mib=app.memory_mib,
        min_tasks=app.min_tasks,
        max_tasks=app.max_tasks,
        cpu_target_percent=app.cpu_target_percent,
        memory_target_percent=app.memory_target_percent,
        requests_per_target=app.requests_per_target,
        port=config.network.app_port,
        tracing_sidecar_source=app.tracing_sidecar_source,
        tracing_sidecar_pinned=bool(app.tracing_sidecar_digest),
        log_retention=retention(config.log_retention_days),
        removal_policy=config.removal_policy,
        powertools_layer_version=config.powertools_layer_version,
    )
