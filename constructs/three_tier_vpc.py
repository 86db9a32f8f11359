"""A VPC over three AZs with public, private-app and isolated-data tiers (R1, R2).

- public: only the ALB and the NAT gateways live here; no public IPs are auto-assigned;
- app: Fargate tasks, egress through NAT (one per AZ in production);
- data: Aurora and Redis; no route to the internet at all, and a network ACL that admits only
  traffic from inside the VPC.
Flow logs (all traffic) go to a KMS-encrypted log group. S3 is reached through a gateway
endpoint; KMS, Secrets Manager, ECR, CloudWatch Logs, STS and X-Ray through interface endpoints
with private DNS whose security group admits HTTPS from the VPC only.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct
from constructs.compliance import acknowledge, ignore_cfn_lint
from constructs.managed_policy_role import ManagedPolicyRole
from constructs.traceability import trace

PUBLIC, APP, DATA = "Public", "App", "Data"

INTERFACE_ENDPOINTS: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "XRay": ec2.InterfaceVpcEndpointAwsService.XRAY,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    # ECS API: the migration custom resource's function starts and watches the migration task.
    "Ecs": ec2.InterfaceVpcEndpointAwsService.ECS,
}


class ThreeTierVpc(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        nat_gateways: int,
        interface_endpoint_azs: int,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=3,
            nat_gateways=nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name=PUBLIC, subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24, map_public_ip_on_launch=False),
                ec2.SubnetConfiguration(name=APP, subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20),
                ec2.SubnetConfiguration(name=DATA, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            restrict_default_security_group=True,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
        )
        for subnet in self.vpc.public_subnets:
            acknowledge(
                subnet.node.find_child("DefaultRoute"),
                "HIPAA.Security-VPCNoUnrestrictedRouteToIGW",
                "Only the public tier routes 0.0.0.0/0 to the internet gateway: it holds just the internet-facing ALB "
                "(reachable only from CloudFront) and the NAT gateways. App and data tiers have no IGW route (tested).",
            )
        for subnet in [*self.vpc.public_subnets, *self.vpc.private_subnets, *self.vpc.isolated_subnets]:
            ignore_cfn_lint(
                subnet,
                "W3010",
                "AZ names come from typed config on purpose: synth runs offline with no AZ lookups, and R1 pins three named AZs.",
            )
        # CDK's default-SG custom resource declares a DependsOn that a GetAtt already implies.
        provider = cdk.Stack.of(self).node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
        if provider is not None:
            ignore_cfn_lint(
                provider.node.find_child("Handler"),
                "W3005",
                "Redundant DependsOn emitted by aws-cdk-lib's restrict-default-SG provider; harmless, not ours to change.",
            )
        trace(self.vpc, ["R1", "R2"], ["security", "reliability"], "Three AZs, three tiers; the data tier has no route to the internet.")

        flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=logs_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        flow_log_role = ManagedPolicyRole(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com"),
            description="VPC flow logs deliver to their one log group",
        )
        self.vpc.add_flow_log(
            "AllTraffic",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group, flow_log_role),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        trace(
            flow_log_group, ["R12", "R13"], ["security", "operational-excellence"], "Every accepted and rejected flow in the VPC is kept, encrypted."
        )

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from inside the VPC only",
            allow_all_outbound=False,
        )
        self.endpoint_security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from the VPC")
        app_subnets = self.vpc.select_subnets(subnet_group_name=APP).subnets[:interface_endpoint_azs]
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for name, service in INTERFACE_ENDPOINTS.items():
            self.interface_endpoints[name] = self.vpc.add_interface_endpoint(
                name,
                service=service,
                private_dns_enabled=True,
                open=False,
                security_groups=[self.endpoint_security_group],
                subnets=ec2.SubnetSelection(subnets=app_subnets),
            )
        trace(
            self.endpoint_security_group,
            ["R2", "R10"],
            ["security"],
            "AWS APIs (KMS, Secrets Manager, ECR, Logs, STS, X-Ray) are reached without leaving the VPC.",
        )

        # Data tier: only traffic from (and back to) the VPC; everything else hits the implicit deny.
        self.data_acl = ec2.NetworkAcl(
            self,
            "DataAcl",
            vpc=self.vpc,
            subnet_selection=ec2.SubnetSelection(subnet_group_name=DATA),
        )
        self.data_acl.add_entry(
            "InFromVpc", cidr=ec2.AclCidr.ipv4(cidr), rule_number=100, traffic=ec2.AclTraffic.all_traffic(), direction=ec2.TrafficDirection.INGRESS
        )
        self.data_acl.add_entry(
            "OutToVpc", cidr=ec2.AclCidr.ipv4(cidr), rule_number=100, traffic=ec2.AclTraffic.all_traffic(), direction=ec2.TrafficDirection.EGRESS
        )
        acknowledge(
            self.data_acl,
            "AwsSolutions-VPC3",
            "Deliberate: the data-tier NACL is a stateless second layer under the security groups (R2 defence in depth).",
        )
        trace(
            self.data_acl,
            ["R2"],
            ["security"],
            "Network ACL on the data subnets admits only VPC-internal traffic (defence in depth to security groups).",
        )

    @property
    def app_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_group_name=APP)

    @property
    def data_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_group_name=DATA)
