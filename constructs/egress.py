"""Security groups whose egress is exactly what is declared, and the private paths to AWS APIs.

Why a helper: EC2 gives every new security group an allow-all egress rule, and CloudFormation
removes it only when the group's own ``SecurityGroupEgress`` property lists rules; separate
``AWS::EC2::SecurityGroupEgress`` resources *add* to whatever the group has. CDK writes an egress
rule inline only for CIDR peers; rules to another group or to a prefix list become separate
resources, and CDK then drops its "match no traffic" placeholder. A group whose egress rules all
point at groups or prefix lists therefore keeps the default allow-all (TOOLCHAIN.md, issue 14
defect 6). ``closed_security_group`` keeps the placeholder inline whenever the group has no other
inline rule, so the effective egress is exactly the declared rules.

``AwsApiPaths`` is the one place that says how a workload reaches AWS APIs without the internet:
HTTPS to the interface endpoints' security group, and HTTPS to the S3 / DynamoDB gateway
endpoints' AWS-managed prefix lists (IDs from config: synth is offline). HTTPS that is not an API
call still takes this path when its host is an endpoint's private DNS name: the service's fetch of
the user pool's JWKS (https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json)
resolves to the cognito-idp interface endpoint, so no group needs the NAT path for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

HTTPS = 443
# CDK's own "match no traffic" rule (ICMP type 252 code 86 to the broadcast address): a rule that
# can never match, present only so that the group's inline egress list is not empty.
NO_TRAFFIC: dict[str, Any] = {
    "cidrIp": "255.255.255.255/32",
    "description": "Disallow all traffic",
    "ipProtocol": "icmp",
    "fromPort": 252,
    "toPort": 86,
}


@jsii.implements(cdk.IStableAnyProducer)
class _InlineEgressOrNothing:
    """Produces the group's inline egress rules, or the no-traffic rule when there are none."""

    def __init__(self, stack: cdk.Stack, inline_rules: Any) -> None:
        self._stack = stack
        self._inline_rules = inline_rules

    def produce(self) -> Any:
        rules = self._stack.resolve(self._inline_rules)
        return rules if rules else [dict(NO_TRAFFIC)]


def seal_egress(group: ec2.SecurityGroup) -> ec2.SecurityGroup:
    """Never let ``group`` fall back to EC2's default allow-all egress."""
    cfn = group.node.default_child
    if not isinstance(cfn, ec2.CfnSecurityGroup):
        raise TypeError(f"seal_egress: {group.node.path} has no CfnSecurityGroup")
    cfn.security_group_egress = cdk.Lazy.any(_InlineEgressOrNothing(cdk.Stack.of(group), cfn.security_group_egress))
    return group


def closed_security_group(scope: Construct, construct_id: str, *, vpc: ec2.IVpc, description: str) -> ec2.SecurityGroup:
    """A security group with no egress at all until rules are added (and then exactly those)."""
    group = ec2.SecurityGroup(scope, construct_id, vpc=vpc, description=description, allow_all_outbound=False)
    return seal_egress(group)


@dataclass(frozen=True)
class AwsApiPaths:
    """The private network paths to AWS APIs: interface endpoints and gateway-endpoint prefix lists."""

    endpoint_security_group: ec2.ISecurityGroup
    s3_prefix_list_id: str
    dynamodb_prefix_list_id: str

    def allow(self, group: ec2.SecurityGroup, *, s3: bool = False, dynamodb: bool = False) -> None:
        """Let ``group`` open HTTPS to the interface endpoints (and S3 / DynamoDB when asked)."""
        group.add_egress_rule(self.endpoint_security_group, ec2.Port.tcp(HTTPS), "HTTPS to AWS APIs through the VPC interface endpoints")
        if s3:
            group.add_egress_rule(ec2.Peer.prefix_list(self.s3_prefix_list_id), ec2.Port.tcp(HTTPS), "HTTPS to S3 through the gateway endpoint")
        if dynamodb:
            group.add_egress_rule(
                ec2.Peer.prefix_list(self.dynamodb_prefix_list_id), ec2.Port.tcp(HTTPS), "HTTPS to DynamoDB through the gateway endpoint"
            )
