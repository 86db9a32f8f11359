"""Egress (issue 14 defect 6, issue 15 item 1): every security group of every synthesized stack has
exactly the egress it needs, computed the way EC2 enforces it (tests/stacks/sg_eval.py), and every
AWS API the code calls has a VPC endpoint with an account-scoped policy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from constructs.three_tier_vpc import COGNITO_SIGN_IN_ACTIONS

from stacks import config as cfg
from tests.conftest import Synthesized
from tests.stacks.sg_eval import ALL_IPV4, ALL_IPV6, Assembly

pytestmark = pytest.mark.requirements("R2")

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT_SG = "sg:Network/NetworkEndpointSecurityGroup"


def _https(peer: str) -> tuple[str, int, int, str]:
    return ("tcp", 443, 443, peer)


def expected_egress(environment: str) -> dict[str, set[tuple[str, int | None, int | None, str]]]:
    """The table: every group in the assembly, and all it may send. Nothing else may appear."""
    network = cfg.load(environment, None).network
    s3, dynamodb = f"pl:{network.s3_prefix_list_id}", f"pl:{network.dynamodb_prefix_list_id}"
    port = network.app_port
    return {
        "Network/SecurityGroupsAlb": {("tcp", port, port, "sg:Network/SecurityGroupsApp")},
        "Network/SecurityGroupsApp": {
            _https(ENDPOINT_SG),
            _https(s3),  # ECR image layers, PHI objects
            # The GuardDuty Fargate agent's endpoint carries GuardDuty's own group, in a subnet GuardDuty
            # picks: https://docs.aws.amazon.com/guardduty/latest/ug/runtime-monitoring-agent-connectivity.html
            _https(network.vpc_cidr),
            ("tcp", 5432, 5432, "sg:Network/SecurityGroupsDatabase"),
            ("tcp", 6379, 6379, "sg:Network/SecurityGroupsCache"),
        },
        "Network/SecurityGroupsDatabase": set(),
        "Network/SecurityGroupsCache": set(),
        "Network/SecurityGroupsSecretRotation": {_https(ENDPOINT_SG), ("tcp", 5432, 5432, "sg:Network/SecurityGroupsDatabase")},
        "Network/NetworkEndpointSecurityGroup": set(),
        # The deploy-time schema migration task (master user) and the custom-resource function that starts it.
        "Network/SecurityGroupsMigration": {_https(ENDPOINT_SG), _https(s3), ("tcp", 5432, 5432, "sg:Network/SecurityGroupsDatabase")},
        "Network/SecurityGroupsMigrationTrigger": {_https(ENDPOINT_SG), _https(s3)},
        "Audit/FunctionsSecurityGroup": {_https(ENDPOINT_SG), _https(s3), _https(dynamodb)},
        "Data/MacieFunctionSecurityGroup": {_https(ENDPOINT_SG), _https(s3)},
        # Cache AUTH-token rotation: Secrets Manager and ElastiCache through their interface endpoints.
        "Data/CacheRotationSecurityGroup": {_https(ENDPOINT_SG)},
        # The internet paths (through the one NAT gateway), each for an API with no endpoint reachable
        # from this VPC: AWS Backup in the DR region (cross-region PrivateLink does not cover Backup),
        # and the global CloudFront API the origin-header rotation updates (no CloudFront interface endpoint).
        "Backup/ReadinessSecurityGroup": {_https(ALL_IPV4)},
        "App/OriginSecretRotationSecurityGroup": {_https(ALL_IPV4)},
    }


def _assembly(synth: Synthesized, environment: str) -> Assembly:
    return Assembly(synth.outdir / f"assembly-{synth.stages[environment].stage_name}")


def test_effective_egress_is_exactly_the_table(synth: Synthesized, environment: str) -> None:
    """A group without inline ``SecurityGroupEgress`` keeps EC2's allow-all egress; separate egress
    resources only add to it. https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html
    (SecurityGroupEgress: "use this property to remove the default rule") and
    https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html (default outbound rule).
    On e7e42e2 this fails: ``SecretRotation`` and ``Alb`` had allow-all, app and Lambda groups 0.0.0.0/0:443."""
    effective = _assembly(synth, environment).effective_egress()
    expected = expected_egress(environment)
    assert set(effective) == set(expected), "a security group appeared or vanished: decide its egress in the table"
    for group, rules in expected.items():
        assert effective[group] == rules, group


def test_internet_egress_only_where_the_table_allows(synth: Synthesized, environment: str) -> None:
    effective = _assembly(synth, environment).effective_egress()
    internet = {group for group, rules in effective.items() if any(r[3] in (ALL_IPV4, ALL_IPV6) for r in rules)}
    assert internet == {"Backup/ReadinessSecurityGroup", "App/OriginSecretRotationSecurityGroup"}
    assert not [g for g, rules in effective.items() if any(r[0] == "all" for r in rules)], "no group sends all protocols"


def test_nothing_admits_the_internet(synth: Synthesized, environment: str) -> None:
    """Security groups have no default ingress; the only public entry is the ALB, from CloudFront's
    origin-facing prefix list. https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/LocationsOfEdgeServers.html"""
    ingress = _assembly(synth, environment).effective_ingress()
    assert not [(g, r) for g, rules in ingress.items() for r in rules if r[3] in (ALL_IPV4, ALL_IPV6)]
    prefix_list = cfg.load(environment, None).network.cloudfront_prefix_list_id
    assert ingress["Network/SecurityGroupsAlb"] == {_https(f"pl:{prefix_list}")}
    cidr = cfg.load(environment, None).network.vpc_cidr
    assert ingress["Network/NetworkEndpointSecurityGroup"] == {_https(cidr)}


def test_evaluator_sees_the_ec2_default(tmp_path: Path) -> None:
    """The evaluator itself: a group whose only egress is a separate resource has allow-all."""
    import json

    no_traffic = {"CidrIp": "255.255.255.255/32", "IpProtocol": "icmp", "FromPort": 252, "ToPort": 86}
    to_sealed = {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1, "DestinationSecurityGroupId": {"Fn::GetAtt": ["Sealed0123ABCD", "GroupId"]}}
    body = {
        "Resources": {
            "Open0123ABCD": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "no inline egress"}},
            "Sealed0123ABCD": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "placeholder", "SecurityGroupEgress": [no_traffic]},
            },
            "Inline0123ABCD": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "inline", "SecurityGroupEgress": [no_traffic]}},
            "OpenRule0123ABCD": {
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {"GroupId": {"Fn::GetAtt": ["Open0123ABCD", "GroupId"]}, **to_sealed},
            },
            "SealRule0123ABCD": {
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {"GroupId": {"Fn::GetAtt": ["Inline0123ABCD", "GroupId"]}, **to_sealed},
            },
        }
    }
    (tmp_path / "T.template.json").write_text(json.dumps(body))
    manifest = {"artifacts": {"T": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "T.template.json", "stackName": "X-Net"}}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    effective = Assembly(tmp_path).effective_egress()
    assert effective == {
        "Net/Open": {("all", None, None, ALL_IPV4), ("tcp", 1, 1, "sg:Net/Sealed")},  # the default survives
        "Net/Sealed": set(),
        "Net/Inline": {("tcp", 1, 1, "sg:Net/Sealed")},  # inline rules replaced the default
    }


# --- VPC endpoints -------------------------------------------------------------------------------

# boto3 client name -> the endpoint service that serves it (gateway endpoints for s3 and dynamodb).
CLIENT_ENDPOINT = {
    "s3": "s3",
    "dynamodb": "dynamodb",
    "sns": "sns",
    "config": "config",
    "macie2": "macie2",
    "backup": "backup",
    "cloudwatch": "monitoring",
    "secretsmanager": "secretsmanager",
    "elasticache": "elasticache",  # cache AUTH-token rotation
    "ecs": "ecs",  # the migration custom resource's RunTask / DescribeTasks
    "cognito-idp": "cognito-idp",  # the service's sign-in (and, same host, the user pool's JWKS)
    # rds: only generate_db_auth_token, which signs locally and calls no API (the service's IAM login).
    "rds": None,
}
# Called through the one NAT gateway by the origin-header rotation function only (its group is the
# table's second internet path): CloudFront's API is global with no interface endpoint, so the
# function keeps one egress rule for its three APIs.
NAT_CLIENTS = {"cloudfront", "elbv2", "ssm"}
# What ECS on Fargate (platform 1.4.0+) needs to pull private images and write logs without NAT:
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html (ecr.api, ecr.dkr, S3 gateway)
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html (logs, secretsmanager, kms)
PLATFORM_ENDPOINTS = {"ecr.api", "ecr.dkr", "s3", "logs", "secretsmanager", "kms", "xray", "sts"}


def _boto3_clients() -> set[str]:
    sources = [*ROOT.glob("lambda/*/*.py"), *ROOT.glob("service/medivault_service/*.py")]
    return {m for path in sources for m in re.findall(r"\bclient\(\s*\"([a-z0-9-]+)\"", path.read_text())}


def _endpoints(synth: Synthesized, environment: str) -> dict[str, dict[str, Any]]:
    assembly = _assembly(synth, environment)
    result = {}
    for endpoint in assembly.resources("AWS::EC2::VPCEndpoint").values():
        name = endpoint["Properties"]["ServiceName"]
        # "com.amazonaws.<region>.<service>", or a Join of "com.amazonaws.", the Region and ".<service>".
        service = name.split(f"{cfg.load(environment, None).primary_region}.", 1)[1] if isinstance(name, str) else name["Fn::Join"][1][-1][1:]
        result[service] = endpoint["Properties"]
    return result


def test_every_called_api_has_an_endpoint(synth: Synthesized, environment: str) -> None:
    """Derived from the code: every boto3 client in lambda/ and service/ must have an endpoint
    (apart from the DR-region Backup client, the documented NAT exception)."""
    clients = _boto3_clients()
    unknown = clients - set(CLIENT_ENDPOINT) - NAT_CLIENTS
    assert not unknown, f"new boto3 clients {unknown}: add their VPC endpoint and map them here"
    assert {"elasticache", "ecs", "cloudfront"} <= clients, "the client scan finds the rotation and migration functions' clients"
    endpoints = set(_endpoints(synth, environment))
    assert {CLIENT_ENDPOINT[c] for c in clients if CLIENT_ENDPOINT.get(c)} <= endpoints
    assert endpoints >= PLATFORM_ENDPOINTS


def _allows(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in policy["Statement"] if s["Effect"] == "Allow"]


def test_every_endpoint_policy_is_account_scoped(synth: Synthesized, environment: str) -> None:
    """Endpoint policies (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html):
    each Allow requires ``aws:PrincipalAccount`` = this account; endpoints to our own resources also
    ``aws:ResourceAccount``. The only exceptions are the two AWS-owned S3 buckets on the gateway
    endpoint, object-scoped: ECR's layer bucket (GetObject, ECR user guide "Minimum Amazon S3 bucket
    permissions") and CloudFormation's response bucket (PutObject,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-vpce-bucketnames.html)."""
    region = cfg.load(environment, None).primary_region
    for service, endpoint in _endpoints(synth, environment).items():
        assert "PolicyDocument" in endpoint, f"{service} endpoint has no policy (default: full access)"
        for statement in _allows(endpoint["PolicyDocument"]):
            if statement.get("Sid") == "CognitoSignInOperations":
                # Unsigned user pool operations carry no principal; scoped to this account's user pools
                # (https://docs.aws.amazon.com/cognito/latest/developerguide/vpc-interface-endpoints.html).
                assert service == "cognito-idp"
                assert sorted(statement["Action"]) == sorted(COGNITO_SIGN_IN_ACTIONS)
                assert statement["Resource"]["Fn::Join"][1][-2:] == [{"Ref": "AWS::AccountId"}, ":userpool/*"]
                continue
            if statement.get("Sid") in ("EcrImageLayers", "CloudFormationResponses"):
                assert service == "s3"
                expected = {
                    "EcrImageLayers": ("s3:GetObject", f"arn:aws:s3:::prod-{region}-starport-layer-bucket/*"),
                    "CloudFormationResponses": ("s3:PutObject", f"arn:aws:s3:::cloudformation-custom-resource-response-{region.replace('-', '')}/*"),
                }[statement["Sid"]]
                assert (statement["Action"], statement["Resource"]) == expected
                continue
            # The endpoint's own stack account: the stack deploys into the account it serves.
            assert statement["Condition"]["StringEquals"]["aws:PrincipalAccount"] == {"Ref": "AWS::AccountId"}, service
            if service not in ("ecr.api", "ecr.dkr"):  # the GuardDuty agent image is in an AWS-owned repository
                assert "aws:ResourceAccount" in statement["Condition"]["StringEqualsIfExists"], service


def test_every_cognito_call_of_the_service_passes_the_endpoint_policy() -> None:
    """The service reaches Cognito through the cognito-idp endpoint (private DNS), whose policy admits the
    unsigned user-pool operations for any principal only as listed (Cognito developer guide,
    vpc-interface-endpoints.html, "Unauthenticated operations"). A sign-in or enrolment call missing from
    that list would be refused by the endpoint in a deploy while every test against moto passed."""
    import ast
    import re
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "service" / "medivault_service" / "auth.py").read_text()
    operations = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_call" and len(node.args) >= 2:
            operation = node.args[1]
            assert isinstance(operation, ast.Constant), ast.dump(operation)
            operations.add(str(operation.value))
    assert {"initiate_auth", "respond_to_auth_challenge", "associate_software_token", "verify_software_token"} <= operations
    actions = {f"cognito-idp:{''.join(part.title() for part in op.split('_'))}" for op in operations}
    assert actions <= set(COGNITO_SIGN_IN_ACTIONS), sorted(actions - set(COGNITO_SIGN_IN_ACTIONS))
    assert all(re.fullmatch(r"cognito-idp:[A-Z][A-Za-z]+", a) for a in actions)
