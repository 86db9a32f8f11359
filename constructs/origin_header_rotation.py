"""Rotation of the CloudFront -> ALB origin-header secret, with a two-value window (R9, R10).

The secret's value is the X-Origin-Verify header CloudFront adds to every origin request; the ALB
listener rule forwards only requests that carry it ("Restricting access to Application Load
Balancers", https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/restrict-access-to-load-balancer.html).
Rotation follows AWS's pattern (AWS Security Blog, "How to enhance Amazon CloudFront origin
security with AWS WAF and AWS Secrets Manager",
https://aws.amazon.com/blogs/security/how-to-enhance-amazon-cloudfront-origin-security-with-aws-waf-and-aws-secrets-manager/):
the origin first accepts the current and the pending value, then CloudFront switches to the
pending one, and the old value stays accepted (as AWSPREVIOUS) until the next rotation, so edge
locations still on the old configuration are not refused.

Where it lives: with the secret and the rule, in the App stack. cdk-nag's rotation checks look
for the schedule in the secret's stack, and the rule's ARN is local. The distribution is created
later by the Edge stack (which already depends on this one); the Edge stack therefore adds the
distribution permissions to this function's role (``grant_distribution``, a managed policy in
the Edge stack naming the distribution ARN) and publishes the distribution id in the SSM
parameter ``distribution_parameter_name``, which this function reads. No statement of this
function uses Resource "*".
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct
from constructs.egress import closed_security_group
from constructs.secret_rotation import SecretRotation

# Service Authorization Reference: ModifyRule takes the listener-rule ARN, GetDistributionConfig and
# UpdateDistribution the distribution ARN, GetParameter the parameter ARN.
DISTRIBUTION_ACTIONS = ["cloudfront:GetDistributionConfig", "cloudfront:UpdateDistribution"]


class OriginHeaderRotation(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        secret: secretsmanager.ISecret,
        secret_key: kms.IKey,
        listener_rule: elbv2.ApplicationListenerRule,
        header_name: str,
        origin_domain: str,
        distribution_parameter_name: str,
        rotation_days: int,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        logs_key: kms.IKey,
        queue_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        powertools_layer_version: int,
    ) -> None:
        super().__init__(scope, construct_id)
        if not distribution_parameter_name.startswith("/"):
            raise ValueError(f"OriginHeaderRotation: parameter name {distribution_parameter_name!r} must start with /")
        self.distribution_parameter_name = distribution_parameter_name
        self.security_group = closed_security_group(
            self, "SecurityGroup", vpc=vpc, description="Origin-header rotation: HTTPS out only (the CloudFront API has no VPC endpoint)"
        )
        # cloudfront.amazonaws.com is a global endpoint with no interface VPC endpoint; ELB and SSM
        # are reached the same way (through the app tier's NAT), Secrets Manager through its endpoint.
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to the CloudFront, ELB, SSM and Secrets Manager APIs")
        self.rotation = SecretRotation(
            self,
            "Rotation",
            secret=secret,
            secret_key=secret_key,
            target="origin-header",
            environment={
                "LISTENER_RULE_ARN": listener_rule.listener_rule_arn,
                "HEADER_NAME": header_name,
                "ORIGIN_DOMAIN": origin_domain,
                "DISTRIBUTION_PARAMETER": distribution_parameter_name,
            },
            description="Rotates the CloudFront origin header: ALB accepts old and new while CloudFront switches",
            rotation_days=rotation_days,
            vpc=vpc,
            subnets=subnets,
            security_group=self.security_group,
            logs_key=logs_key,
            queue_key=queue_key,
            log_retention=log_retention,
            removal_policy=removal_policy,
            powertools_layer_version=powertools_layer_version,
        )
        self.role = self.rotation.role
        stack = cdk.Stack.of(self)
        self.rotation.role.add_to_principal_policy(
            iam.PolicyStatement(sid="OriginRule", actions=["elasticloadbalancing:ModifyRule"], resources=[listener_rule.listener_rule_arn])
        )
        self.rotation.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DistributionId",
                actions=["ssm:GetParameter"],
                resources=[stack.format_arn(service="ssm", resource="parameter", resource_name=distribution_parameter_name.lstrip("/"))],
            )
        )

    def grant_distribution(self, scope: Construct, distribution: cloudfront.IDistribution) -> iam.ManagedPolicy:
        """Called by the Edge stack: publish the distribution id and let this function update that
        distribution only. Both resources live in ``scope``'s stack, which depends on this one."""
        ssm.StringParameter(
            scope,
            "OriginRotationDistributionId",
            parameter_name=self.distribution_parameter_name,
            string_value=distribution.distribution_id,
            description="CloudFront distribution whose origin header the App stack's rotation function updates",
        )
        return iam.ManagedPolicy(
            scope,
            "OriginRotationDistributionAccess",
            description="Origin-header rotation: update the origin header of this one distribution",
            roles=[self.rotation.role],
            statements=[iam.PolicyStatement(sid="OriginHeader", actions=DISTRIBUTION_ACTIONS, resources=[distribution.distribution_arn])],
        )
