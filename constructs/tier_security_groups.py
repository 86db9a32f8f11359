"""The security-group chain of the three tiers, in one place so the graph can be read and tested:

    CloudFront (origin-facing prefix list) --443--> ALB --app_port--> app --5432--> database
                                                                        \\--6379--> cache
                                                     app --443--> interface endpoints, S3 prefix list,
                                                                  the VPC range (GuardDuty's own endpoint)
    secret rotation --5432--> database;  secret rotation --443--> interface endpoints (Secrets Manager)
    migration task --5432--> database; --443--> interface endpoints, S3 prefix list (image layers)
    migration trigger function --443--> interface endpoints (ECS), S3 prefix list (CloudFormation response)

The ALB admits only CloudFront's origin-facing addresses (AWS-managed prefix list, given by ID in
config because synth never looks it up). Database and cache admit only the app tier and the
rotation function and have no egress. No group may reach the internet: the app tier opens HTTPS
only to the VPC interface endpoints' group and to the S3 gateway endpoint's prefix list (image
layers, PHI objects), plus the two data ports. Every group is sealed (constructs/egress.py), so
EC2's default allow-all egress never survives.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct
from constructs.egress import AwsApiPaths, closed_security_group
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
        vpc_cidr: str,
        cloudfront_prefix_list_id: str,
        app_port: int,
        aws_apis: AwsApiPaths,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alb = closed_security_group(self, "Alb", vpc=vpc, description="ALB: HTTPS from CloudFront origin-facing addresses only")
        self.app = closed_security_group(self, "App", vpc=vpc, description="Fargate tasks: the app port from the ALB only")
        self.database = closed_security_group(self, "Database", vpc=vpc, description="Aurora PostgreSQL: 5432 from the app tier only")
        self.cache = closed_security_group(self, "Cache", vpc=vpc, description="Redis: 6379 from the app tier only")
        # The Secrets Manager rotation function of the database master secret (R10). It lives with
        # the other tier groups so that the database group's ingress stays in one template.
        self.rotation = closed_security_group(
            self, "SecretRotation", vpc=vpc, description="Secret rotation function: to Aurora 5432 and the VPC endpoints 443 only"
        )

        # The deploy-time schema migration (constructs/database_migration.py): the one-off ECS task
        # that logs in as the master user, and the custom-resource function that starts it.
        self.migration = closed_security_group(
            self, "Migration", vpc=vpc, description="Schema migration task: to Aurora 5432, the VPC endpoints 443 and S3 (gateway) 443 only"
        )
        self.migration_trigger = closed_security_group(
            self,
            "MigrationTrigger",
            vpc=vpc,
            description="Migration custom-resource function: to the VPC endpoints 443 (ECS) and S3 (gateway) 443 only",
        )
        self.migration.add_egress_rule(self.database, ec2.Port.tcp(POSTGRES_PORT), "to Aurora, as the master user")
        # Secrets Manager, ECR and CloudWatch Logs endpoints; S3 for the ECR image layers.
        aws_apis.allow(self.migration, s3=True)
        self.database.add_ingress_rule(self.migration, ec2.Port.tcp(POSTGRES_PORT), "from the schema migration task")
        # The ECS API endpoint; S3 for CloudFormation's custom-resource response URL.
        aws_apis.allow(self.migration_trigger, s3=True)

        self.alb.add_ingress_rule(ec2.Peer.prefix_list(cloudfront_prefix_list_id), ec2.Port.tcp(443), "HTTPS from CloudFront")
        self.alb.add_egress_rule(self.app, ec2.Port.tcp(app_port), "to the app tasks")
        self.app.add_ingress_rule(self.alb, ec2.Port.tcp(app_port), "from the ALB")
        # Image pulls (ECR api/dkr + layers in S3), logs, secrets, X-Ray, KMS and the PHI buckets.
        aws_apis.allow(self.app, s3=True)
        # GuardDuty Runtime Monitoring's Fargate agent (a sidecar GuardDuty adds to each task, so it
        # uses this group) reports to the guardduty-data endpoint GuardDuty creates in the VPC with its
        # own security group, in a subnet GuardDuty picks: only the VPC range names it. Internal only.
        self.app.add_egress_rule(ec2.Peer.ipv4(vpc_cidr), ec2.Port.tcp(443), "HTTPS to the GuardDuty-managed endpoint")
        self.app.add_egress_rule(self.database, ec2.Port.tcp(POSTGRES_PORT), "to Aurora")
        self.app.add_egress_rule(self.cache, ec2.Port.tcp(REDIS_PORT), "to Redis")
        self.database.add_ingress_rule(self.app, ec2.Port.tcp(POSTGRES_PORT), "from the app tier")
        self.cache.add_ingress_rule(self.app, ec2.Port.tcp(REDIS_PORT), "from the app tier")
        self.rotation.add_egress_rule(aws_apis.endpoint_security_group, ec2.Port.tcp(443), "to Secrets Manager through its VPC endpoint")
        self.rotation.add_egress_rule(self.database, ec2.Port.tcp(POSTGRES_PORT), "to Aurora, to set the rotated password")
        self.database.add_ingress_rule(self.rotation, ec2.Port.tcp(POSTGRES_PORT), "from the secret rotation function")
        trace(self, ["R2", "R5"], ["security"], "Security groups chain CloudFront -> ALB -> app -> data; the data tier admits only the app tier.")
