"""Network tier (R1, R2): the three-tier VPC, flow logs, endpoints, data-tier NACL."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from constructs import Construct
from constructs.log_retention import retention
from constructs.three_tier_vpc import ThreeTierVpc
from constructs.tier_security_groups import TierSecurityGroups

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig


class NetworkStack(MediVaultStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, logs_key: kms.IKey) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=config.primary_region,
            description="three-tier VPC over three AZs, flow logs, VPC endpoints",
        )
        net = ThreeTierVpc(
            self,
            "Network",
            cidr=config.network.vpc_cidr,
            nat_gateways=config.network.nat_gateways,
            interface_endpoint_azs=config.network.interface_endpoint_azs,
            s3_prefix_list_id=config.network.s3_prefix_list_id,
            dynamodb_prefix_list_id=config.network.dynamodb_prefix_list_id,
            logs_key=logs_key,
            log_retention=retention(config.log_retention_days),
            removal_policy=config.removal_policy,
        )
        self.vpc = net.vpc
        self.app_subnets = net.app_subnets
        self.data_subnets = net.data_subnets
        self.endpoint_security_group = net.endpoint_security_group
        self.aws_apis = net.aws_apis
        groups = TierSecurityGroups(
            self,
            "SecurityGroups",
            vpc=net.vpc,
            vpc_cidr=config.network.vpc_cidr,
            cloudfront_prefix_list_id=config.network.cloudfront_prefix_list_id,
            app_port=config.network.app_port,
            aws_apis=net.aws_apis,
        )
        self.alb_security_group = groups.alb
        self.app_security_group = groups.app
        self.database_security_group = groups.database
        self.cache_security_group = groups.cache
        self.rotation_security_group = groups.rotation
        self.migration_security_group = groups.migration
        self.migration_trigger_security_group = groups.migration_trigger
        self.secrets_manager_endpoint = net.interface_endpoints["SecretsManager"]
