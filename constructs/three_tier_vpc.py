"""A VPC over three AZs with public, private-app and isolated-data tiers (R1, R2).

- public: only the ALB and the NAT gateways live here; no public IPs are auto-assigned;
- app: Fargate tasks and the VPC functions. A NAT route exists (config: how many gateways) but no
  security group except the DR-readiness check's may use it: every AWS API the workloads call has
  an endpoint here;
- data: Aurora and Redis; no route to the internet at all, and a network ACL that admits only the
  database and cache ports from the app subnets (and the replies), nothing else.
Flow logs (all traffic) go to a KMS-encrypted log group. S3 and DynamoDB are reached through
gateway endpoints; every other API the code calls (INTERFACE_ENDPOINTS, derived from the boto3
clients in lambda/ and service/ and from what ECS/Fargate and the functions' runtime need) through
interface endpoints with private DNS, whose security group admits HTTPS from the VPC only. Every
endpoint has a policy: only principals of this account, and (where the request names a resource)
only resources of this account, with the two documented AWS-owned S3 exceptions: ECR's image-layer
bucket and CloudFormation's custom-resource response bucket; and the Cognito endpoint also admits the
unsigned sign-in operations (no principal to match) on this account's user pools.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct
from constructs.compliance import acknowledge, ignore_cfn_lint
from constructs.egress import HTTPS, AwsApiPaths, closed_security_group
from constructs.managed_policy_role import ManagedPolicyRole
from constructs.traceability import trace

PUBLIC, APP, DATA = "Public", "App", "Data"

# Who calls what (keep in step with the code; tests/stacks/test_egress.py checks the boto3 clients):
#   Kms            app tasks (S3 SSE-KMS data key, secrets), functions via SNS/S3 keys
#   SecretsManager app tasks (DB secret, ECS secret injection), the rotation function
#   EcrApi/Docker  Fargate image pulls (app, tracing sidecar, GuardDuty agent), platform 1.4.0+
#   Logs           the awslogs driver of the tasks
#   Sts            SDK credential flows (AssumeRoleWithWebIdentity / regional STS)
#   XRay           the tracing sidecar; Monitoring: the DR-readiness metric (cloudwatch)
#   Sns            findings notifier, Macie quarantine; Config: the PHI-bucket rule's PutEvaluations
#   Macie          the Macie classification-job custom resource; Backup: the DR-readiness check
#   CognitoIdp     the service's sign-in (InitiateAuth, RespondToAuthChallenge, ...) and the user
#                  pool's JWKS, both on cognito-idp.<region>.amazonaws.com, which private DNS
#                  resolves to this endpoint (see COGNITO_SIGN_IN_ACTIONS)
INTERFACE_ENDPOINTS: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "XRay": ec2.InterfaceVpcEndpointAwsService.XRAY,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "Sns": ec2.InterfaceVpcEndpointAwsService.SNS,
    "Config": ec2.InterfaceVpcEndpointAwsService.CONFIG,
    "Macie": ec2.InterfaceVpcEndpointAwsService.MACIE,
    "Backup": ec2.InterfaceVpcEndpointAwsService.BACKUP,
    # The cache AUTH-token rotation function calls the ElastiCache API from a group without internet egress.
    "ElastiCache": ec2.InterfaceVpcEndpointAwsService.ELASTICACHE,
    # ECS API: the migration custom resource's function starts and watches the migration task.
    "Ecs": ec2.InterfaceVpcEndpointAwsService.ECS,
    # Cognito user pools (issue 17): the user pool has no domain, the one setup PrivateLink serves.
    "CognitoIdp": ec2.InterfaceVpcEndpointAwsService.COGNITO_IDP,
}
# The user pool API operations the service calls on a user's behalf. They are not signed with SigV4
# (public and token-authorized operations), so no principal account exists to match: an endpoint
# policy must allow them for every principal, scoped here to this account's user pools.
# https://docs.aws.amazon.com/cognito/latest/developerguide/vpc-interface-endpoints.html
# ("Unauthenticated operations": "Your VPC endpoint policy or RCP must allow all principals").
COGNITO_SIGN_IN_ACTIONS = tuple(
    f"cognito-idp:{action}"
    for action in (
        "InitiateAuth",
        "RespondToAuthChallenge",
        "AssociateSoftwareToken",
        "VerifySoftwareToken",
        "GetUser",
        "ChangePassword",
        "ForgotPassword",
        "ConfirmForgotPassword",
        "GlobalSignOut",
        "RevokeToken",
    )
)
# Endpoints whose callers must reach resources owned by AWS, not by us: the GuardDuty runtime agent
# image sits in a GuardDuty-owned ECR repository, so no aws:ResourceAccount condition there.
AWS_OWNED_RESOURCES = frozenset({"EcrApi", "EcrDocker"})
# Database and cache ports (the data-tier NACL admits only these, from the app subnets).
DATA_PORTS = (5432, 6379)
EPHEMERAL = (1024, 65535)


class ThreeTierVpc(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        nat_gateways: int,
        interface_endpoint_azs: int,
        s3_prefix_list_id: str,
        dynamodb_prefix_list_id: str,
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
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
            },
        )
        for subnet in self.vpc.public_subnets:
            acknowledge(
                subnet.node.find_child("DefaultRoute"),
                "HIPAA.Security-VPCNoUnrestrictedRouteToIGW",
                "Only the public tier routes 0.0.0.0/0 to the internet gateway: it holds just the internet-facing ALB "
                "(reachable only from CloudFront) and the NAT gateway. App and data tiers have no IGW route, and only the "
                "DR-readiness check's security group may send through NAT (both tested).",
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

        self.endpoint_security_group = closed_security_group(
            self, "EndpointSecurityGroup", vpc=self.vpc, description="Interface endpoints: HTTPS from inside the VPC only"
        )
        self.endpoint_security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(HTTPS), "HTTPS from the VPC")
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
            for statement in endpoint_policy(own_resources_only=name not in AWS_OWNED_RESOURCES):
                self.interface_endpoints[name].add_to_policy(statement)
        self.interface_endpoints["CognitoIdp"].add_to_policy(cognito_sign_in_statement())
        self.gateway_endpoints: dict[str, ec2.GatewayVpcEndpoint] = {}
        for name in ("S3", "DynamoDb"):
            endpoint = self.vpc.node.find_child(name)
            assert isinstance(endpoint, ec2.GatewayVpcEndpoint)
            self.gateway_endpoints[name] = endpoint
            for statement in endpoint_policy(own_resources_only=True):
                endpoint.add_to_policy(statement)
        for statement in aws_owned_s3_objects(cdk.Stack.of(self).region):
            self.gateway_endpoints["S3"].add_to_policy(statement)
        self.aws_apis = AwsApiPaths(
            endpoint_security_group=self.endpoint_security_group,
            s3_prefix_list_id=s3_prefix_list_id,
            dynamodb_prefix_list_id=dynamodb_prefix_list_id,
        )
        trace(
            self.endpoint_security_group,
            ["R2", "R10"],
            ["security"],
            "Every AWS API the workloads call is reached through a VPC endpoint with an account-scoped policy.",
        )

        # Data tier NACL (stateless, so both directions): the database and cache ports from each app
        # subnet (the service, the rotation and migration functions all run there), the replies to
        # their ephemeral ports, and TCP between the data subnets themselves (writer/reader and
        # primary/replica traffic crosses AZs). Everything else meets the implicit deny.
        self.data_acl = ec2.NetworkAcl(
            self,
            "DataAcl",
            vpc=self.vpc,
            subnet_selection=ec2.SubnetSelection(subnet_group_name=DATA),
        )
        app_cidrs = [subnet.ipv4_cidr_block for subnet in self.vpc.select_subnets(subnet_group_name=APP).subnets]
        data_cidrs = [subnet.ipv4_cidr_block for subnet in self.vpc.select_subnets(subnet_group_name=DATA).subnets]
        rule = 100
        for index, app_cidr in enumerate(app_cidrs):
            for port in DATA_PORTS:
                self.data_acl.add_entry(
                    f"In{port}FromApp{index}",
                    cidr=ec2.AclCidr.ipv4(app_cidr),
                    rule_number=rule,
                    traffic=ec2.AclTraffic.tcp_port(port),
                    direction=ec2.TrafficDirection.INGRESS,
                )
                rule += 1
            self.data_acl.add_entry(
                f"OutRepliesToApp{index}",
                cidr=ec2.AclCidr.ipv4(app_cidr),
                rule_number=100 + index,
                traffic=ec2.AclTraffic.tcp_port_range(*EPHEMERAL),
                direction=ec2.TrafficDirection.EGRESS,
            )
        for index, data_cidr in enumerate(data_cidrs):
            for direction, label in ((ec2.TrafficDirection.INGRESS, "In"), (ec2.TrafficDirection.EGRESS, "Out")):
                self.data_acl.add_entry(
                    f"{label}DataTier{index}",
                    cidr=ec2.AclCidr.ipv4(data_cidr),
                    rule_number=200 + index,
                    traffic=ec2.AclTraffic.tcp_port_range(*EPHEMERAL),
                    direction=direction,
                )
        acknowledge(
            self.data_acl,
            "AwsSolutions-VPC3",
            "Deliberate: the data-tier NACL is a stateless second layer under the security groups (R2 defence in depth), "
            "admitting only TCP 5432/6379 from the app subnets and the replies.",
        )
        trace(
            self.data_acl,
            ["R2"],
            ["security"],
            "Network ACL on the data subnets admits only the database and cache ports from the app subnets (defence in depth).",
        )

    @property
    def app_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_group_name=APP)

    @property
    def data_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_group_name=DATA)


def endpoint_policy(*, own_resources_only: bool) -> list[iam.PolicyStatement]:
    """An endpoint policy: only this account's principals, and (when asked) only its resources.

    ``aws:ResourceAccount`` uses ``StringEqualsIfExists``: calls that name no resource (X-Ray
    PutTraceSegments, CloudWatch PutMetricData, Config PutEvaluations) carry no such key.
    https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount
    """
    account = cdk.Aws.ACCOUNT_ID
    conditions: dict[str, dict[str, str]] = {"StringEquals": {"aws:PrincipalAccount": account}}
    if own_resources_only:
        conditions["StringEqualsIfExists"] = {"aws:ResourceAccount": account}
    return [
        iam.PolicyStatement(
            sid="OnlyThisAccount",
            principals=[iam.AnyPrincipal()],
            actions=["*"],
            resources=["*"],
            conditions=conditions,
        )
    ]


def cognito_sign_in_statement() -> iam.PolicyStatement:
    """The unsigned user pool operations, for any caller, on this account's user pools only."""
    stack_region, account = cdk.Aws.REGION, cdk.Aws.ACCOUNT_ID
    return iam.PolicyStatement(
        sid="CognitoSignInOperations",
        principals=[iam.AnyPrincipal()],
        actions=list(COGNITO_SIGN_IN_ACTIONS),
        resources=[f"arn:{cdk.Aws.PARTITION}:cognito-idp:{stack_region}:{account}:userpool/*"],
    )


def aws_owned_s3_objects(region: str) -> list[iam.PolicyStatement]:
    """The two AWS-owned buckets the VPC must reach through the S3 gateway endpoint.

    - ECR image layers: ``prod-<region>-starport-layer-bucket`` (s3:GetObject), reached with a
      pre-signed URL ECR hands out; https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
      ("Minimum Amazon S3 bucket permissions for Amazon ECR").
    - CloudFormation custom-resource responses: the Macie job function PUTs to a pre-signed URL in
      ``cloudformation-custom-resource-response-<region without dashes>``;
      https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-vpce-bucketnames.html
    The URLs are signed by the AWS service, so these statements cannot carry our account conditions.
    """
    if cdk.Token.is_unresolved(region):
        raise ValueError("aws_owned_s3_objects: the stack needs a concrete region (bucket names are per region)")
    return [
        iam.PolicyStatement(
            sid="EcrImageLayers",
            principals=[iam.AnyPrincipal()],
            actions=["s3:GetObject"],
            resources=[f"arn:aws:s3:::prod-{region}-starport-layer-bucket/*"],
        ),
        iam.PolicyStatement(
            sid="CloudFormationResponses",
            principals=[iam.AnyPrincipal()],
            actions=["s3:PutObject"],
            resources=[f"arn:aws:s3:::cloudformation-custom-resource-response-{region.replace('-', '')}/*"],
        ),
    ]
