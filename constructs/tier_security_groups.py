"""The security-group chain of the three tiers, in one place so the graph can be read and tested:

    CloudFront (origin-facing prefix list) --443--> ALB --app_port--> app --5432--> database
                                                                        \\--6379--> cache
    secret rotation --5432--> database;  secret rotation --443--> interface endpoints (Secrets Manager)
    migration task --5432--> database; --443--> interface endpoints, S3 prefix list (image layers)
    migration trigger function --443--> interface endpoints (ECS), S3 prefix list (CloudFormation response)

The ALB admits only CloudFront's origin-facing addresses (AWS-managed prefix list, given by ID in
config because synth never looks it up). Database and cache admit only the app tier and have no
egress. The app tier may open HTTPS outbound (AWS APIs through endpoints/NAT) and the two data ports.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct
from constructs.traceability import trace

POSTGRES_PORT = 5432
REDIS_PORT = 6379


class TierSecurityGroups(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        cloudfront_prefix_list_id: str,
        app_port: int,
        endpoint_security_group: ec2.ISecurityGroup,
        s3_prefix_list_id: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alb = ec2.SecurityGroup(
            self, "Alb", vpc=vpc, description="ALB: HTTPS from CloudFront origin-facing addresses only", allow_all_outbound=False
        )
        self.app = ec2.SecurityGroup(self, "App", vpc=vpc, description="Fargate tasks: the app port from the ALB only", allow_all_outbound=False)
        self.database = ec2.SecurityGroup(
            self, "Database", vpc=vpc, description="Aurora PostgreSQL: 5432 from the app tier only", allow_all_outbound=False
        )
        self.cache = ec2.SecurityGroup(self, "Cache", vpc=vpc, description="Redis: 6379 from the app tier only", allow_all_outbound=False)
        # The Secrets Manager rotation function of the database master secret (R10). It lives with
        # the other tier groups so that the database group's ingress stays in one template.
        self.rotation = ec2.SecurityGroup(
            self,
            "SecretRotation",
            vpc=vpc,
            description="Secret rotation function: to Aurora 5432 and the VPC endpoints 443 only",
            allow_all_outbound=False,
        )

        # The deploy-time schema migration (constructs/database_migration.py): the one-off ECS task
        # that logs in as the master user, and the custom-resource function that starts it.
        self.migration = ec2.SecurityGroup(
            self,
            "Migration",
            vpc=vpc,
            description="Schema migration task: to Aurora 5432, the VPC endpoints 443 and S3 (gateway) 443 only",
            allow_all_outbound=False,
        )
        self.migration_trigger = ec2.SecurityGroup(
            self,
            "MigrationTrigger",
            vpc=vpc,
            description="Migration custom-resource function: to the VPC endpoints 443 (ECS) and S3 (gateway) 443 only",
            allow_all_outbound=False,
        )
        self.migration.add_egress_rule(self.database, ec2.Port.tcp(POSTGRES_PORT), "to Aurora, as the master user")
        self.migration.add_egress_rule(endpoint_security_group, ec2.Port.tcp(443), "to Secrets Manager, ECR and CloudWatch Logs endpoints")
        _inline_egress(self.migration, s3_prefix_list_id, 443, "to S3 through the gateway endpoint (ECR image layers)")
        self.database.add_ingress_rule(self.migration, ec2.Port.tcp(POSTGRES_PORT), "from the schema migration task")
        self.migration_trigger.add_egress_rule(endpoint_security_group, ec2.Port.tcp(443), "to the ECS API endpoint")
        _inline_egress(self.migration_trigger, s3_prefix_list_id, 443, "to S3 through the gateway endpoint (CloudFormation response URL)")

        self.alb.add_ingress_rule(ec2.Peer.prefix_list(cloudfront_prefix_list_id), ec2.Port.tcp(443), "HTTPS from CloudFront")
        self.alb.add_egress_rule(self.app, ec2.Port.tcp(app_port), "to the app tasks")
        self.app.add_ingress_rule(self.alb, ec2.Port.tcp(app_port), "from the ALB")
        self.app.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs (VPC endpoints, S3 gateway endpoint)")
        self.app.add_egress_rule(self.database, ec2.Port.tcp(POSTGRES_PORT), "to Aurora")
        self.app.add_egress_rule(self.cache, ec2.Port.tcp(REDIS_PORT), "to Redis")
        self.database.add_ingress_rule(self.app, ec2.Port.tcp(POSTGRES_PORT), "from the app tier")
        self.cache.add_ingress_rule(self.app, ec2.Port.tcp(REDIS_PORT), "from the app tier")
        self.rotation.add_egress_rule(endpoint_security_group, ec2.Port.tcp(443), "to Secrets Manager through its VPC endpoint")
        self.rotation.add_egress_rule(self.database, ec2.Port.tcp(POSTGRES_PORT), "to Aurora, to set the rotated password")
        self.database.add_ingress_rule(self.rotation, ec2.Port.tcp(POSTGRES_PORT), "from the secret rotation function")
        trace(self, ["R2", "R5"], ["security"], "Security groups chain CloudFront -> ALB -> app -> data; the data tier admits only the app tier.")


def _inline_egress(group: ec2.SecurityGroup, prefix_list_id: str, port: int, description: str) -> None:
    """A prefix-list egress rule written inline on the group. CDK writes rules that name another
    group or a prefix list as separate AWS::EC2::SecurityGroupEgress resources and then drops its
    "disallow all" placeholder; a group created with no inline egress keeps EC2's default
    allow-all egress rule ("When you create a security group, if you do not add egress rules, we
    add egress rules that allow all outbound IPv4 and IPv6 traffic":
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html).
    With this rule inline, the group's egress is exactly what is declared."""
    resource = group.node.default_child
    if not isinstance(resource, ec2.CfnSecurityGroup):
        raise TypeError(f"{group.node.path} has no CfnSecurityGroup")
    resource.add_property_override(
        "SecurityGroupEgress",
        [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "DestinationPrefixListId": prefix_list_id, "Description": description}],
    )
