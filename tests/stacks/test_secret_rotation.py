"""Wiring of the two rotations (R10): cache AUTH token (Data stack) and CloudFront origin header (App +
Edge stacks), over the whole synthesized app (gates included, concrete accounts).

AWS behaviour encoded here, each in the test that relies on it:
- Secrets Manager invokes the rotation function as ``secretsmanager.amazonaws.com`` and needs the
  function's invoke permission and role before the schedule (creating it starts a rotation):
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
- ROTATE keeps the current token valid next to the new one (ElastiCache user guide, "Modifying the
  AUTH token on an existing cluster"): https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html
- The ElastiCache API has an interface VPC endpoint (PrivateLink), CloudFront's API does not:
  https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/elasticache-privatelink.html
- IAM resource types per action (ModifyReplicationGroup/DescribeReplicationGroups: replicationgroup;
  ModifyRule: listener-rule; GetDistributionConfig/UpdateDistribution: distribution):
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticache.html,
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_elasticloadbalancingv2.html,
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudfront.html
- A stack update re-resolves a dynamic reference only for a resource it updates
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html),
  and a reference to a stage that does not exist (AWSPREVIOUS of a new secret) cannot resolve --
  so the templates reference AWSCURRENT and the rotation function owns the second value.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from stacks import config as cfg
from tests.conftest import Synthesized, resources_of

pytestmark = pytest.mark.requirements("R10")

ROTATION_RULES = ("AwsSolutions-SMG4", "HIPAA.Security-SecretsManagerRotationEnabled")
SECRET_ACTIONS = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
]
# MediVaultFunction's own statements on "*": the EC2 Describe calls and X-Ray upload, which have no
# resource-level permissions (ENI create/delete/assign are scoped to the function's subnets and group).
STAR_ACTIONS = {
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
}


def _rotation_function(template: Template, target: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (lid, f)
        for lid, f in resources_of(template, "AWS::Lambda::Function").items()
        if f["Properties"].get("Environment", {}).get("Variables", {}).get("ROTATION_TARGET") == target
    ]
    return found


def _statements(template: Template, function: dict[str, Any]) -> list[dict[str, Any]]:
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = [p for p in resources_of(template, "AWS::IAM::ManagedPolicy").values() if {"Ref": role} in p["Properties"].get("Roles", [])]
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def _by_sid(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements if "Sid" in s}


def _schedule_for(template: Template, secret_id: str) -> dict[str, Any]:
    (schedule,) = [
        s for s in resources_of(template, "AWS::SecretsManager::RotationSchedule").values() if s["Properties"]["SecretId"] == {"Ref": secret_id}
    ]
    return schedule


def _acknowledged(template: Template, logical_id: str) -> set[str]:
    metadata = template.to_json()["Resources"][logical_id].get("Metadata", {})
    return {rule["id"] for rule in metadata.get("cdk_nag", {}).get("rules_to_suppress", [])}


@pytest.fixture(params=cfg.ENVIRONMENT_NAMES)
def environment(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- cache AUTH token ---------------------------------------------------------------------------


def test_cache_token_rotates_every_30_days_after_its_function_and_the_group_exist(synth: Synthesized, environment: str) -> None:
    data = synth.template(environment, "data")
    (secret_id,) = [lid for lid in resources_of(data, "AWS::SecretsManager::Secret") if lid.startswith("CacheAuthToken")]
    schedule = _schedule_for(data, secret_id)
    assert schedule["Properties"]["RotationRules"] == {"AutomaticallyAfterDays": 30}
    function_id, function = _rotation_function(data, "cache-auth-token")
    assert schedule["Properties"]["RotationLambdaARN"] == {"Fn::GetAtt": [function_id, "Arn"]}
    (permission_id, permission) = next(
        (lid, p)
        for lid, p in resources_of(data, "AWS::Lambda::Permission").items()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    )
    assert permission["Properties"]["Principal"] == "secretsmanager.amazonaws.com"
    assert permission["Properties"]["SourceAccount"] == synth.stages[environment].data.account
    assert permission["Properties"]["SourceArn"] == {"Ref": secret_id}  # this secret only
    assert function["Properties"]["Environment"]["Variables"]["SECRET_ARN"] == {"Ref": secret_id}
    (group_id,) = resources_of(data, "AWS::ElastiCache::ReplicationGroup")
    role = {"Ref": function["Properties"]["Role"]["Fn::GetAtt"][0]}
    (policy_id,) = [lid for lid, p in resources_of(data, "AWS::IAM::ManagedPolicy").items() if role in p["Properties"].get("Roles", [])]
    # Invoke permission and role policy before the first rotation; the group available before it runs.
    assert {permission_id, policy_id, group_id} <= set(schedule["DependsOn"])
    assert function["Properties"]["Environment"]["Variables"]["REPLICATION_GROUP_ID"] == {"Ref": group_id}
    assert function["Properties"]["Handler"] == "mv_secret_rotation.handler.lambda_handler"


def test_cache_rotation_role_is_scoped_to_the_secret_and_the_group(synth: Synthesized, environment: str) -> None:
    data = synth.template(environment, "data")
    stack = synth.stages[environment].data
    (group_id,) = resources_of(data, "AWS::ElastiCache::ReplicationGroup")
    _, function = _rotation_function(data, "cache-auth-token")
    statements = _statements(data, function)
    sids = _by_sid(statements)
    assert sids["RotateThisSecret"]["Action"] == SECRET_ACTIONS
    assert sids["RotateThisSecret"]["Resource"] == {"Ref": "CacheAuthToken04672416"}
    assert sids["RotateTheAuthToken"]["Action"] == ["elasticache:DescribeReplicationGroups", "elasticache:ModifyReplicationGroup"]
    assert sids["RotateTheAuthToken"]["Resource"] == {
        "Fn::Join": ["", [f"arn:aws:elasticache:eu-central-1:{stack.account}:replicationgroup:", {"Ref": group_id}]]
    }
    assert sids["SecretKeyViaSecretsManager"]["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-central-1.amazonaws.com"}}
    star = {a for s in statements if s["Resource"] == "*" for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert star == STAR_ACTIONS


def test_cache_rotation_reaches_only_the_interface_endpoints(synth: Synthesized, environment: str) -> None:
    data = synth.template(environment, "data")
    network = synth.template(environment, "network")
    _, function = _rotation_function(data, "cache-auth-token")
    (group_ref,) = function["Properties"]["VpcConfig"]["SecurityGroupIds"]
    group_id = group_ref["Fn::GetAtt"][0]
    group = resources_of(data, "AWS::EC2::SecurityGroup")[group_id]["Properties"]
    # An inline rule exists, so EC2's default allow-all egress is gone; it matches no traffic.
    assert group["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]
    assert "SecurityGroupIngress" not in group
    egress = [
        r["Properties"]
        for r in resources_of(data, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    assert len(egress) == 1 and (egress[0]["FromPort"], egress[0]["ToPort"], egress[0]["IpProtocol"]) == (443, 443, "tcp")
    assert "EndpointSecurityGroup" in egress[0]["DestinationSecurityGroupId"]["Fn::GetStackOutput"]["OutputName"]
    # ... and the endpoints it needs exist there, with private DNS (the SDK's default names resolve to them).
    services = {
        str(e["Properties"]["ServiceName"])
        for e in resources_of(network, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("PrivateDnsEnabled")
    }
    assert {"com.amazonaws.eu-central-1.secretsmanager", "com.amazonaws.eu-central-1.elasticache"} <= services


# --- CloudFront origin header ---------------------------------------------------------------------


def test_origin_secret_rotates_every_30_days_in_the_app_stack(synth: Synthesized, environment: str) -> None:
    app = synth.template(environment, "app")
    schedule = _schedule_for(app, "OriginSecret")
    assert schedule["Properties"]["RotationRules"] == {"AutomaticallyAfterDays": 30}
    function_id, function = _rotation_function(app, "origin-header")
    assert schedule["Properties"]["RotationLambdaARN"] == {"Fn::GetAtt": [function_id, "Arn"]}
    variables = function["Properties"]["Environment"]["Variables"]
    (rule_id,) = resources_of(app, "AWS::ElasticLoadBalancingV2::ListenerRule")
    assert variables["LISTENER_RULE_ARN"] == {"Ref": rule_id}
    assert variables["HEADER_NAME"] == "X-Origin-Verify"
    assert variables["SECRET_ARN"] == {"Ref": "OriginSecret"}
    (permission,) = [
        p["Properties"]
        for p in resources_of(app, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    assert (permission["Principal"], permission["SourceArn"]) == ("secretsmanager.amazonaws.com", {"Ref": "OriginSecret"})
    assert variables["DISTRIBUTION_PARAMETER"] == f"/medivault/{environment}/edge/distribution-id"
    (alb_id,) = resources_of(app, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    domain = cfg.load(environment, None).domain
    if domain is None:  # no domain configured: CloudFront's origin is the ALB's own name
        assert variables["ORIGIN_DOMAIN"] == {"Fn::GetAtt": [alb_id, "DNSName"]}
    else:  # with a domain, CloudFront reaches the ALB as origin.<domain> (its certificate names it)
        assert variables["ORIGIN_DOMAIN"] == domain.origin_domain_name


def test_rule_template_lists_awscurrent_only(synth: Synthesized, environment: str) -> None:
    """AWSPREVIOUS does not exist before the first rotation, so it cannot be in the template; a stack
    update that touches the rule resolves AWSCURRENT, the value CloudFront sends after a rotation."""
    app = synth.template(environment, "app")
    (rule,) = resources_of(app, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    (condition,) = rule["Properties"]["Conditions"]
    assert condition["HttpHeaderConfig"]["Values"] == [
        {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "OriginSecret"}, ":SecretString:::}}"]]}
    ]
    assert "AWSPREVIOUS" not in str(app.to_json()) and "AWSPENDING" not in str(app.to_json())


def test_origin_rotation_role_names_the_rule_the_parameter_and_the_distribution(synth: Synthesized, environment: str) -> None:
    app = synth.template(environment, "app")
    edge = synth.template(environment, "edge")
    account = synth.stages[environment].app.account
    _, function = _rotation_function(app, "origin-header")
    statements = _statements(app, function)
    sids = _by_sid(statements)
    (rule_id,) = resources_of(app, "AWS::ElasticLoadBalancingV2::ListenerRule")
    assert sids["OriginRule"] == {"Action": "elasticloadbalancing:ModifyRule", "Effect": "Allow", "Resource": {"Ref": rule_id}, "Sid": "OriginRule"}
    assert sids["DistributionId"]["Resource"] == f"arn:aws:ssm:eu-central-1:{account}:parameter/medivault/{environment}/edge/distribution-id"
    assert sids["RotateThisSecret"]["Resource"] == {"Ref": "OriginSecret"}
    star = {a for s in statements if s["Resource"] == "*" for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert star == STAR_ACTIONS
    # The Edge stack (created after the App stack) adds the distribution permission to that role.
    (distribution_id,) = resources_of(edge, "AWS::CloudFront::Distribution")
    (access,) = [
        p["Properties"] for lid, p in resources_of(edge, "AWS::IAM::ManagedPolicy").items() if lid.startswith("OriginRotationDistributionAccess")
    ]
    assert access["PolicyDocument"]["Statement"] == [
        {
            "Action": ["cloudfront:GetDistributionConfig", "cloudfront:UpdateDistribution"],
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [f"arn:aws:cloudfront::{account}:distribution/", {"Ref": distribution_id}]]},
            "Sid": "OriginHeader",
        }
    ]
    (role,) = access["Roles"]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    assert role["Fn::GetStackOutput"]["StackName"] == synth.stages[environment].app.stack_name and role_id in role["Fn::GetStackOutput"]["OutputName"]
    (parameter,) = resources_of(edge, "AWS::SSM::Parameter").values()
    assert parameter["Properties"]["Name"] == f"/medivault/{environment}/edge/distribution-id"
    assert parameter["Properties"]["Value"] == {"Ref": distribution_id}


def test_origin_rotation_egress_is_https_only(synth: Synthesized, environment: str) -> None:
    app = synth.template(environment, "app")
    _, function = _rotation_function(app, "origin-header")
    (group_ref,) = function["Properties"]["VpcConfig"]["SecurityGroupIds"]
    group = resources_of(app, "AWS::EC2::SecurityGroup")[group_ref["Fn::GetAtt"][0]]["Properties"]
    assert [(r["CidrIp"], r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in group["SecurityGroupEgress"]] == [("0.0.0.0/0", "tcp", 443, 443)]
    assert "SecurityGroupIngress" not in group
    assert resources_of(app, "AWS::EC2::SecurityGroupIngress") == {}


# --- acknowledgments ----------------------------------------------------------------------------------


def test_rotation_findings_are_fixed_not_acknowledged(synth: Synthesized, environment: str) -> None:
    """Both secrets rotate, so cdk-nag's rotation rules pass at the source (the gates ran in the fixture)."""
    for stack, secret_id in (("data", "CacheAuthToken04672416"), ("app", "OriginSecret")):
        template = synth.template(environment, stack)
        assert _acknowledged(template, secret_id).isdisjoint(ROTATION_RULES), f"{stack}/{secret_id}"
    for stack in ("network", "data", "app", "edge"):
        text = str(synth.template(environment, stack).to_json())
        assert "no rotation template" not in text and "not a credential" not in text
