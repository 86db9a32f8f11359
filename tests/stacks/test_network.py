"""Network tier (R1, R2)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from stacks import config as cfg
from tests.conftest import Synthesized, ingress_rules, resources_of

pytestmark = pytest.mark.requirements("R1", "R2")

INTERFACE_SERVICES = (
    "kms",
    "secretsmanager",
    "ecr.api",
    "ecr.dkr",
    "logs",
    "sts",
    "xray",
    "monitoring",
    "sns",
    "config",
    "macie2",
    "backup",
    "elasticache",
    "ecs",
    "cognito-idp",
)


def _subnets_by_tier(synth: Synthesized, environment: str) -> dict[str, list[dict[str, Any]]]:
    tiers: dict[str, list[dict[str, Any]]] = {"Public": [], "App": [], "Data": []}
    for subnet in resources_of(synth.template(environment, "network"), "AWS::EC2::Subnet").values():
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        tiers[tags["aws-cdk:subnet-name"]].append(subnet["Properties"])
    return tiers


def test_nine_subnets_over_three_distinct_azs(synth: Synthesized, environment: str) -> None:
    tiers = _subnets_by_tier(synth, environment)
    expected = set(cfg.load(environment, None).network.availability_zones)
    assert len(expected) == 3
    for tier, subnets in tiers.items():
        assert len(subnets) == 3, tier
        assert {s["AvailabilityZone"] for s in subnets} == expected, tier
    assert all(s["MapPublicIpOnLaunch"] is False for s in tiers["Public"])


def test_data_tier_has_no_route_to_the_internet(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "network")
    subnets = resources_of(template, "AWS::EC2::Subnet")
    data_subnet_ids = {lid for lid, s in subnets.items() if {t["Key"]: t["Value"] for t in s["Properties"]["Tags"]}["aws-cdk:subnet-name"] == "Data"}
    assert len(data_subnet_ids) == 3
    data_tables = {
        a["Properties"]["RouteTableId"]["Ref"]
        for a in resources_of(template, "AWS::EC2::SubnetRouteTableAssociation").values()
        if a["Properties"]["SubnetId"]["Ref"] in data_subnet_ids
    }
    assert len(data_tables) == 3
    routes = resources_of(template, "AWS::EC2::Route").values()
    internet_routes = [r for r in routes if r["Properties"]["RouteTableId"]["Ref"] in data_tables]
    assert internet_routes == [], "a data-tier route table has a route (IGW/NAT/0.0.0.0/0)"
    # ...while the app tier does reach the internet through NAT, and public through the IGW.
    targets = [next(k for k in r["Properties"] if k.endswith(("GatewayId", "NatGatewayId"))) for r in routes]
    assert "NatGatewayId" in targets and "GatewayId" in targets


def test_nat_gateways_per_environment(synth: Synthesized) -> None:
    # One each: only the DR-readiness check may use NAT (docs/well-architected.md, security: egress).
    assert len(resources_of(synth.template("production", "network"), "AWS::EC2::NatGateway")) == 1
    assert len(resources_of(synth.template("sandbox", "network"), "AWS::EC2::NatGateway")) == 1


def test_flow_logs_all_traffic_to_encrypted_log_group(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "network")
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    days = cfg.load(environment, None).log_retention_days
    [flow_log] = resources_of(template, "AWS::EC2::FlowLog").values()
    group = resources_of(template, "AWS::Logs::LogGroup")[flow_log["Properties"]["LogGroupName"]["Ref"]]
    assert group["Properties"]["RetentionInDays"] == days
    # Under the logs key of the Keys stack (a weak reference: Fn::GetStackOutput of that key's ARN).
    key = group["Properties"]["KmsKeyId"]["Fn::GetStackOutput"]
    assert key["StackName"] == f"{environment.capitalize()}-Keys"
    assert synth.template(environment, "keys").to_json()["Outputs"][key["OutputName"]]["Value"] == {"Fn::GetAtt": ["LogsKeyFE4C4A83", "Arn"]}
    # The flow-log role's permissions are a managed policy scoped to the one log group (no inline policy).
    assert resources_of(template, "AWS::IAM::Policy") == {}
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {"PolicyDocument": {"Statement": [Match.object_like({"Resource": {"Fn::GetAtt": [Match.string_like_regexp("FlowLogs"), "Arn"]}})]}},
    )


def test_endpoints_private_and_vpc_only(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "network")
    endpoints = list(resources_of(template, "AWS::EC2::VPCEndpoint").values())
    names = [str(e["Properties"]["ServiceName"]) for e in endpoints]
    assert any("s3" in n for n in names)
    gateway = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Gateway"]
    assert len(gateway) == 2  # S3 and DynamoDB
    interface = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
    for service in INTERFACE_SERVICES:
        assert any(n.endswith(f".{service}") for n in (e["Properties"]["ServiceName"] for e in interface)), service
    assert all(e["Properties"]["PrivateDnsEnabled"] is True for e in interface)
    azs = cfg.load(environment, None).network.interface_endpoint_azs
    assert all(len(e["Properties"]["SubnetIds"]) == azs for e in interface)
    # Their security group admits HTTPS from the VPC CIDR and nothing else.
    cidr = cfg.load(environment, None).network.vpc_cidr
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "GroupDescription": Match.string_like_regexp("Interface endpoints"),
            "SecurityGroupIngress": [{"CidrIp": cidr, "FromPort": 443, "ToPort": 443, "IpProtocol": "tcp", "Description": Match.any_value()}],
        },
    )


def test_data_tier_acl_admits_only_data_ports_from_the_app_subnets(synth: Synthesized, environment: str) -> None:
    """Issue 15 item 9: NACLs are stateless, so both directions are listed: TCP 5432/6379 in from
    each app subnet (service, rotation and migration functions), replies out to their ephemeral
    ports, TCP between the data subnets; nothing from the rest of the VPC, no other protocol.
    https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html (ephemeral ports, stateless)."""
    template = synth.template(environment, "network")
    tiers = _subnets_by_tier(synth, environment)
    app_cidrs = {s["CidrBlock"] for s in tiers["App"]}
    data_cidrs = {s["CidrBlock"] for s in tiers["Data"]}
    entries = [e["Properties"] for e in resources_of(template, "AWS::EC2::NetworkAclEntry").values()]
    assert all(e["RuleAction"] == "allow" and e["Protocol"] == 6 for e in entries), "TCP only"
    ingress = {(e["CidrBlock"], e["PortRange"]["From"], e["PortRange"]["To"]) for e in entries if not e["Egress"]}
    egress = {(e["CidrBlock"], e["PortRange"]["From"], e["PortRange"]["To"]) for e in entries if e["Egress"]}
    assert ingress == {(c, p, p) for c in app_cidrs for p in (5432, 6379)} | {(c, 1024, 65535) for c in data_cidrs}
    assert egress == {(c, 1024, 65535) for c in app_cidrs | data_cidrs}
    cidr = cfg.load(environment, None).network.vpc_cidr
    assert cidr not in {e["CidrBlock"] for e in entries}, "not the whole VPC"
    assert len({(e["RuleNumber"], e["Egress"]) for e in entries}) == len(entries), "rule numbers are unique per direction"
    associations = resources_of(template, "AWS::EC2::SubnetNetworkAclAssociation")
    assert len(associations) == 3


def test_default_security_group_restricted(synth: Synthesized, environment: str) -> None:
    synth.template(environment, "network").resource_count_is("Custom::VpcRestrictDefaultSG", 1)


def test_vpc_cidr_from_config(synth: Synthesized, environment: str) -> None:
    cidr = cfg.load(environment, None).network.vpc_cidr
    synth.template(environment, "network").has_resource_properties("AWS::EC2::VPC", {"CidrBlock": cidr, "EnableDnsSupport": True})


def _group_ids(template: Any) -> dict[str, str]:
    """logical ID of each tier security group by the start of its description."""
    groups = resources_of(template, "AWS::EC2::SecurityGroup")
    return {g["Properties"]["GroupDescription"].split(":")[0]: lid for lid, g in groups.items()}


def test_security_group_chain(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "network")
    ids = _group_ids(template)
    rules = ingress_rules(template)
    port = cfg.load(environment, None).network.app_port
    tier_groups = {ids[n] for n in ("ALB", "Fargate tasks", "Aurora PostgreSQL", "Redis", "Secret rotation function", "Schema migration task")}
    assert {r for r in rules if r[0] in tier_groups} == {
        (ids["ALB"], "pl-a3a144ca", 443),  # CloudFront origin-facing only
        (ids["Fargate tasks"], ids["ALB"], port),
        (ids["Aurora PostgreSQL"], ids["Fargate tasks"], 5432),
        (ids["Aurora PostgreSQL"], ids["Secret rotation function"], 5432),  # R10: master-secret rotation
        (ids["Aurora PostgreSQL"], ids["Schema migration task"], 5432),  # R6: deploy-time migrations (master user)
        (ids["Redis"], ids["Fargate tasks"], 6379),
    }
    # Nothing anywhere admits the whole internet.
    assert not [r for r in rules if r[1] in ("0.0.0.0/0", "::/0")]
    groups = resources_of(template, "AWS::EC2::SecurityGroup")
    for name in ("Aurora PostgreSQL", "Redis"):
        egress = groups[ids[name]]["Properties"]["SecurityGroupEgress"]
        assert egress[0]["CidrIp"] == "255.255.255.255/32", "data-tier groups must have no egress"
