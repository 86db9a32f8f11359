"""Monthly cost estimate per stage from the synthesized templates, the typed config and a dated price table.

Quantities come, in this order of preference, from the typed config (``stacks/config``: NAT
gateways, endpoint AZs), from the synthesized templates (resource counts, task sizes, Aurora
capacity bounds, cache node types, web ACL rules) and, only for what no template can know (traffic,
stored GB), from ``usage_assumptions.json``. Every line says where its quantity came from; every
usage assumption used is listed with the estimate. Services with no resource in the assembly yet
are listed as not estimated rather than guessed.

A period is priced, not only a month: ``Period(hours, active_hours)``. Hourly resources (NAT,
endpoints, ALB, public IPv4 addresses, cache nodes, Fargate tasks at their minimum) are billed for
every hour of it; Aurora Serverless v2 is billed at its in-use ACU while active and at its minimum
when idle (0 ACU, paused, when the template's MinCapacity is 0); storage and per-month fees are
prorated; traffic (requests, GB processed, events, traces) happens only in the active hours. The
monthly estimate of an environment uses ``in_use_hours_per_month`` from ``usage_assumptions.json``;
``daily_cost`` gives the sandbox's idle and in-use day.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks import config as cfg
from stacks.config import EnvironmentConfig
from stacks.config.environment import PRIMARY_REGION
from tools.assembly import StackArtifact, referenced_id
from tools.report.model import stage_name

HERE = Path(__file__).resolve().parent
PRICES_FILE = HERE / "prices_eu-central-1.json"
USAGE_FILE = HERE / "usage_assumptions.json"


@dataclass(frozen=True)
class CostLine:
    service: str
    item: str
    quantity: float
    unit: str
    unit_price: float
    basis: str  # where the quantity comes from

    @property
    def monthly(self) -> float:
        return round(self.quantity * self.unit_price, 2)


@dataclass(frozen=True)
class Assumption:
    key: str
    value: Any
    unit: str
    why: str


@dataclass
class Estimate:
    stage: str
    environment: str
    lines: list[CostLine] = field(default_factory=list)
    assumptions: dict[str, Assumption] = field(default_factory=dict)
    not_estimated: list[str] = field(default_factory=list)  # services with no resource in the assembly
    unpriced: list[str] = field(default_factory=list)  # resources found but missing from the price table

    @property
    def total(self) -> float:
        return round(sum(line.monthly for line in self.lines), 2)

    def by_service(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in self.lines:
            out[line.service] = round(out.get(line.service, 0.0) + line.monthly, 2)
        return out


@dataclass(frozen=True)
class Period:
    """``hours`` priced, of which ``active_hours`` in use (traffic, Aurora above its minimum)."""

    hours: float
    active_hours: float

    def __post_init__(self) -> None:
        if not 0 <= self.active_hours <= self.hours:
            raise ValueError(f"active_hours {self.active_hours:g} must lie within 0..{self.hours:g}")


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads(path.read_text())
    return prices


def load_usage(path: Path = USAGE_FILE) -> dict[str, Any]:
    usage: dict[str, Any] = json.loads(path.read_text())
    return usage


@dataclass
class _Context:
    resources: list[tuple[StackArtifact, str, dict[str, Any]]]
    config: EnvironmentConfig | None
    prices: dict[str, Any]
    usage: dict[str, Any]
    estimate: Estimate
    hours: float
    active_hours: float = 0.0
    hours_per_month: float = 730.0
    in_use_hours_per_month: float = 730.0

    @property
    def month_share(self) -> float:
        """Share of a month's storage and per-month fees this period pays."""
        return self.hours / self.hours_per_month

    @property
    def traffic_share(self) -> float:
        """Share of the monthly traffic assumptions (stated for the in-use hours of a month) that
        falls into this period's active hours."""
        return self.active_hours / self.in_use_hours_per_month if self.in_use_hours_per_month else 0.0

    @property
    def idle_hours(self) -> float:
        return self.hours - self.active_hours

    def monthly(self, quantity: float) -> float:
        return float(quantity) * self.month_share

    def traffic(self, quantity: float) -> float:
        return float(quantity) * self.traffic_share

    def of(self, *types: str) -> list[tuple[StackArtifact, str, dict[str, Any]]]:
        return [r for r in self.resources if r[2].get("Type") in types]

    def props(self, *types: str) -> list[dict[str, Any]]:
        return [r[2].get("Properties", {}) for r in self.of(*types)]

    def price(self, key: str) -> float:
        return float(self.prices["prices"][key]["usd"])

    def unit(self, key: str) -> str:
        return str(self.prices["prices"][key]["unit"])

    def use(self, key: str) -> Any:
        entry = self.usage[key]
        self.estimate.assumptions[key] = Assumption(key, entry["value"], entry["unit"], entry["why"])
        return entry["value"]

    def add(self, service: str, item: str, quantity: float, price_key: str, basis: str, *, factor: float = 1.0) -> None:
        price = round(self.price(price_key) * factor, 10)
        self.estimate.lines.append(CostLine(service, item, round(quantity, 4), self.unit(price_key), price, basis))


def _where(items: list[tuple[StackArtifact, str, dict[str, Any]]]) -> str:
    stacks = sorted({s.name for s, _, _ in items})
    return ", ".join(stacks)


# --- one function per service; each returns False when the assembly holds nothing to price ---------


def _public_ipv4(c: _Context, count: int, item: str, basis: str) -> None:
    """Every public IPv4 address is billed per hour, attached or not (VPC pricing page)."""
    if count:
        c.add("VPC", item, count * c.hours, "public_ipv4_hour", f"{basis} x {c.hours:g} h")


def _nat(c: _Context) -> bool:
    gateways = c.of("AWS::EC2::NatGateway")
    if not gateways:
        return False
    count = len(gateways)
    basis = f"{count} AWS::EC2::NatGateway in {_where(gateways)}"
    if c.config is not None:
        basis = f"config network.nat_gateways = {c.config.network.nat_gateways} ({basis})"
        count = c.config.network.nat_gateways
    c.add("VPC", "NAT gateway hours", count * c.hours, "nat_gateway_hour", f"{basis} x {c.hours:g} h")
    c.add("VPC", "NAT data processed", c.traffic(c.use("nat_gb")), "nat_gateway_gb", "assumption nat_gb (active hours only)")
    public = [g for g in gateways if g[2].get("Properties", {}).get("ConnectivityType", "public") == "public"]
    _public_ipv4(c, len(public), "Public IPv4: NAT gateway addresses", f"{len(public)} public NAT gateway(s), one Elastic IP each")
    return True


def _endpoints(c: _Context) -> bool:
    interface = [r for r in c.of("AWS::EC2::VPCEndpoint") if r[2].get("Properties", {}).get("VpcEndpointType") == "Interface"]
    if not interface:
        return False
    enis = sum(len(r[2]["Properties"].get("SubnetIds", [])) for r in interface)
    basis = f"{len(interface)} interface endpoints with {enis} subnet placements in the template"
    if c.config is not None:
        basis += f" (config network.interface_endpoint_azs = {c.config.network.interface_endpoint_azs})"
    c.add("VPC", "Interface endpoint AZ-hours", enis * c.hours, "interface_endpoint_az_hour", f"{basis} x {c.hours:g} h")
    c.add("VPC", "Interface endpoint data processed", c.traffic(c.use("endpoint_gb")), "interface_endpoint_gb", "assumption endpoint_gb")
    return True


@dataclass(frozen=True)
class _Service:
    stack: str
    logical_id: str
    minimum: int
    maximum: int
    vcpu: float
    memory_gb: float
    containers: int
    arm: bool
    source: str


def _ecs_services(c: _Context) -> list[_Service]:
    task_defs = {lid: res.get("Properties", {}) for _, lid, res in c.of("AWS::ECS::TaskDefinition")}
    targets = c.of("AWS::ApplicationAutoScaling::ScalableTarget")
    found = []
    for stack, lid, service in c.of("AWS::ECS::Service"):
        props = service.get("Properties", {})
        task = task_defs.get(referenced_id(props.get("TaskDefinition")))
        if task is None or "Cpu" not in task:
            c.estimate.unpriced.append(f"ECS service {stack.name}/{lid}: task definition size not found in the template")
            continue
        scaling = [t[2]["Properties"] for t in targets if lid in json.dumps(t[2]["Properties"].get("ResourceId"))]
        minimum = int(scaling[0]["MinCapacity"]) if scaling else int(props.get("DesiredCount", 1))
        maximum = int(scaling[0]["MaxCapacity"]) if scaling else minimum
        found.append(
            _Service(
                stack=stack.name,
                logical_id=lid,
                minimum=minimum,
                maximum=maximum,
                vcpu=int(task["Cpu"]) / 1024,
                memory_gb=int(task["Memory"]) / 1024,
                containers=len(task.get("ContainerDefinitions", [])) or 1,
                arm=task.get("RuntimePlatform", {}).get("CpuArchitecture") == "ARM64",
                source=f"autoscaling min {minimum}/max {maximum}" if scaling else f"DesiredCount {minimum}",
            )
        )
    return found


def _task_hours(c: _Context, service: _Service) -> tuple[float, str]:
    """Task-hours of one service in the period: the minimum all the time, the assumed extra tasks
    (capped at the maximum) only in the active hours."""
    extra = min(float(c.use("fargate_average_tasks_over_minimum")), service.maximum - service.minimum)
    hours = service.minimum * c.hours + extra * c.active_hours
    return hours, f"{service.minimum} x {c.hours:g} h + {extra:g} extra x {c.active_hours:g} active h ({service.source} + assumption)"


def _fargate(c: _Context) -> bool:
    services = c.of("AWS::ECS::Service")
    if not services:
        return False
    enhanced = {
        lid
        for _, lid, res in c.of("AWS::ECS::Cluster")
        for setting in res.get("Properties", {}).get("ClusterSettings", [])
        if setting.get("Name") == "containerInsights" and setting.get("Value") == "enhanced"
    }
    for service in _ecs_services(c):
        task_hours, how = _task_hours(c, service)
        arch = "arm" if service.arm else "x86"
        label = "ARM64" if service.arm else "x86"
        basis = f"{service.stack}/{service.logical_id}: {how} x {service.vcpu:g} vCPU / {service.memory_gb:g} GB"
        c.add("Fargate", f"{service.logical_id} vCPU-hours ({label})", task_hours * service.vcpu, f"fargate_vcpu_hour_{arch}", basis)
        c.add("Fargate", f"{service.logical_id} GB-hours ({label})", task_hours * service.memory_gb, f"fargate_gb_hour_{arch}", basis)
        cluster = next((res for _, lid, res in c.of("AWS::ECS::Service") if lid == service.logical_id), {}).get("Properties", {}).get("Cluster")
        if referenced_id(cluster) in enhanced:
            per_hour = float(c.use("container_insights_observations_per_container_hour"))
            c.add(
                "CloudWatch",
                f"{service.logical_id} Container Insights (enhanced) observations",
                task_hours * service.containers * per_hour / 1e6,
                "container_insights_observation_million",
                f"cluster setting containerInsights=enhanced; {service.containers} container(s) per task x task-hours above"
                " x assumption container_insights_observations_per_container_hour",
            )
    return True


@dataclass(frozen=True)
class _Cluster:
    stack: str
    logical_id: str
    instances: int
    low: float
    high: float
    pauses: bool
    advanced_insights: bool


def _aurora_clusters(c: _Context) -> list[_Cluster]:
    instances = c.of("AWS::RDS::DBInstance")
    found = []
    for stack, lid, cluster in c.of("AWS::RDS::DBCluster"):
        props = cluster.get("Properties", {})
        members = [i for i in instances if referenced_id(i[2].get("Properties", {}).get("DBClusterIdentifier")) == lid]
        for _, other, res in members:
            if res["Properties"].get("DBInstanceClass") != "db.serverless":
                c.estimate.unpriced.append(
                    f"Aurora instance {stack.name}/{other}: provisioned class {res['Properties'].get('DBInstanceClass')} not in the price table"
                )
        scaling = props.get("ServerlessV2ScalingConfiguration", {})
        low, high = float(scaling.get("MinCapacity", 0.5)), float(scaling.get("MaxCapacity", 1))
        found.append(
            _Cluster(
                stack=stack.name,
                logical_id=lid,
                instances=sum(1 for i in members if i[2]["Properties"].get("DBInstanceClass") == "db.serverless"),
                low=low,
                high=high,
                pauses=low == 0,
                advanced_insights=str(props.get("DatabaseInsightsMode", "")).lower() == "advanced",
            )
        )
    return found


def _acu_hours(c: _Context, cluster: _Cluster) -> tuple[float, str]:
    """ACU-hours of one cluster in the period: in-use ACU (clamped to min/max) in the active
    hours, the minimum in the idle hours (0 when MinCapacity is 0: the instances pause)."""
    in_use = min(max(float(c.use("aurora_average_acu")), cluster.low, 0.5), cluster.high)
    idle = 0.0 if cluster.pauses else cluster.low
    hours = cluster.instances * (in_use * c.active_hours + idle * c.idle_hours)
    pause = "MinCapacity 0: paused when idle" if cluster.pauses else f"MinCapacity {cluster.low:g} when idle"
    how = (
        f"{cluster.instances} db.serverless x ({in_use:g} ACU x {c.active_hours:g} active h + {idle:g} ACU x {c.idle_hours:g} idle h);"
        f" in-use ACU = assumption within min {cluster.low:g}/max {cluster.high:g}; {pause}"
    )
    return hours, how


def _aurora(c: _Context) -> bool:
    if not c.of("AWS::RDS::DBCluster"):
        return False
    for cluster in _aurora_clusters(c):
        acu_hours, how = _acu_hours(c, cluster)
        c.add("Aurora", f"{cluster.logical_id} ACU-hours", acu_hours, "aurora_serverless_v2_acu_hour", f"{cluster.stack}/{cluster.logical_id}: {how}")
        c.add(
            "Aurora",
            f"{cluster.logical_id} storage",
            c.monthly(c.use("aurora_storage_gb")),
            "aurora_storage_gb_month",
            "assumption aurora_storage_gb",
        )
        c.add("Aurora", f"{cluster.logical_id} I/O", c.traffic(c.use("aurora_io_million")), "aurora_io_million", "assumption aurora_io_million")
        if cluster.advanced_insights:
            c.add(
                "CloudWatch",
                f"{cluster.logical_id} Database Insights (advanced)",
                acu_hours,
                "database_insights_advanced_acu_hour",
                f"DatabaseInsightsMode advanced in the template; billed on the ACU-hours above ({how})",
            )
    return True


def _cache(c: _Context) -> bool:
    groups = c.of("AWS::ElastiCache::ReplicationGroup", "AWS::ElastiCache::CacheCluster")
    serverless = c.of("AWS::ElastiCache::ServerlessCache")
    if not groups and not serverless:
        return False
    table = c.prices["prices"]["elasticache_node_hour"]
    for stack, lid, res in groups:
        props = res.get("Properties", {})
        if res["Type"] == "AWS::ElastiCache::ReplicationGroup":
            nodes = int(props.get("NumCacheClusters") or int(props.get("NumNodeGroups", 1)) * (int(props.get("ReplicasPerNodeGroup", 0)) + 1))
        else:
            nodes = int(props.get("NumCacheNodes", 1))
        node_type = str(props.get("CacheNodeType"))
        engine = str(props.get("Engine", "redis")).lower()
        if node_type not in table["usd_by_node_type"]:
            c.estimate.unpriced.append(f"ElastiCache {stack.name}/{lid}: node type {node_type} not in the price table")
            continue
        factor = 1 - float(table["valkey_discount"]) if engine == "valkey" else 1.0
        price = float(table["usd_by_node_type"][node_type]) * factor
        basis = f"{stack.name}/{lid}: {nodes} x {node_type} ({engine}) x {c.hours:g} h"
        c.estimate.lines.append(CostLine("ElastiCache", f"{lid} node-hours", nodes * c.hours, str(table["unit"]), round(price, 6), basis))
    for stack, lid, res in serverless:
        engine = str(res.get("Properties", {}).get("Engine", "redis")).lower()
        factor = 2 / 3 if engine == "valkey" else 1.0
        c.add("ElastiCache", f"{lid} storage GB-hours ({engine})", float(c.use("cache_serverless_gb")) * c.hours, "elasticache_serverless_gb_hour",
              f"{stack.name}/{lid}: assumption cache_serverless_gb x {c.hours:g} h", factor=factor)  # fmt: skip
        c.add("ElastiCache", f"{lid} ECPUs ({engine})", c.traffic(c.use("cache_serverless_ecpu_million")), "elasticache_serverless_ecpu_million",
              "assumption cache_serverless_ecpu_million", factor=factor)  # fmt: skip
    return True


def _alb(c: _Context) -> bool:
    albs = [r for r in c.of("AWS::ElasticLoadBalancingV2::LoadBalancer") if r[2].get("Properties", {}).get("Type", "application") == "application"]
    if not albs:
        return False
    c.add("Load balancing", "ALB hours", len(albs) * c.hours, "alb_hour", f"{len(albs)} application load balancers in {_where(albs)} x {c.hours:g} h")
    c.add(
        "Load balancing",
        "ALB LCU-hours",
        len(albs) * float(c.use("alb_lcu")) * c.active_hours,
        "alb_lcu_hour",
        f"assumption alb_lcu x {c.active_hours:g} active h per ALB",
    )
    public = [r for r in albs if r[2].get("Properties", {}).get("Scheme") == "internet-facing"]
    # An internet-facing ALB has a public IPv4 address in each of its subnets (at least; it adds
    # nodes under load). Subnets or SubnetMappings from the template.
    addresses = sum(len(r[2]["Properties"].get("Subnets") or r[2]["Properties"].get("SubnetMappings") or []) for r in public)
    _public_ipv4(c, addresses, "Public IPv4: ALB addresses", f"{len(public)} internet-facing ALB(s) over {addresses} subnet(s), one address each")
    return True


def _cloudfront(c: _Context) -> bool:
    distributions = c.of("AWS::CloudFront::Distribution")
    if not distributions:
        return False
    basis = f"{len(distributions)} distribution(s) in {_where(distributions)}"
    c.add("CloudFront", "Data out (Europe)", c.traffic(c.use("cloudfront_gb")), "cloudfront_gb_europe", f"{basis}; assumption cloudfront_gb")
    c.add(
        "CloudFront",
        "HTTPS requests",
        c.traffic(float(c.use("cloudfront_requests_million")) * 100),
        "cloudfront_https_10k",
        "assumption cloudfront_requests_million",
    )
    return True


def _waf(c: _Context) -> bool:
    acls = c.of("AWS::WAFv2::WebACL")
    if not acls:
        return False
    rules = sum(len(r[2].get("Properties", {}).get("Rules", [])) for r in acls)
    c.add("WAF", "Web ACLs", c.monthly(len(acls)), "waf_web_acl_month", f"{len(acls)} AWS::WAFv2::WebACL in {_where(acls)}")
    c.add("WAF", "Rules and managed rule groups", c.monthly(rules), "waf_rule_month", f"{rules} rules counted in the web ACLs' Rules")
    # Every viewer request passes the CLOUDFRONT-scope ACL; a REGIONAL one (the user pool's) sees only sign-in calls.
    edge = [r for r in acls if r[2].get("Properties", {}).get("Scope") == "CLOUDFRONT"]
    requests = c.traffic(float(c.use("cloudfront_requests_million")) * len(edge))
    c.add(
        "WAF",
        "Requests inspected",
        requests,
        "waf_requests_million",
        f"every viewer request inspected by {len(edge)} CloudFront web ACL(s); assumption cloudfront_requests_million; "
        f"sign-in calls through the {len(acls) - len(edge)} regional ACL(s) not estimated (a few per user per day)",
    )
    return True


# CloudFormation's UserPoolTier (the feature plan) -> its MAU price; a pool without the property is on Essentials,
# Cognito's default plan for new pools (Cognito developer guide, "User pool feature plans").
COGNITO_TIERS = {"PLUS": "cognito_mau_plus", "ESSENTIALS": "cognito_mau_essentials", "LITE": "cognito_mau_lite"}


def _cognito(c: _Context) -> bool:
    pools = c.of("AWS::Cognito::UserPool")
    if not pools:
        return False
    mau = float(c.use("cognito_mau"))
    for stack, logical_id, resource in pools:
        tier = str(resource.get("Properties", {}).get("UserPoolTier", "ESSENTIALS"))
        c.add(
            "Cognito",
            f"{logical_id}: monthly active users ({tier.title()} plan)",
            c.traffic(mau),  # users who sign in during the in-use hours; an idle period has none
            COGNITO_TIERS[tier],
            f"UserPoolTier {tier} in {stack.name}; assumption cognito_mau",
        )
    return True


def _kms(c: _Context) -> bool:
    keys = c.of("AWS::KMS::Key")
    if not keys:
        return False
    c.add("KMS", "Customer-managed keys", c.monthly(len(keys)), "kms_key_month", f"{len(keys)} AWS::KMS::Key in {_where(keys)}")
    c.add("KMS", "API requests", c.traffic(c.use("kms_requests_10k")), "kms_requests_10k", "assumption kms_requests_10k")
    return True


def _secrets(c: _Context) -> bool:
    secrets = c.of("AWS::SecretsManager::Secret")
    if not secrets:
        return False
    c.add("Secrets Manager", "Secrets", c.monthly(len(secrets)), "secret_month", f"{len(secrets)} AWS::SecretsManager::Secret in {_where(secrets)}")
    c.add("Secrets Manager", "API calls", c.traffic(c.use("secret_api_10k")), "secret_api_10k", "assumption secret_api_10k")
    return True


def _cloudtrail(c: _Context) -> bool:
    trails = c.props("AWS::CloudTrail::Trail")
    if not trails:
        return False
    with_data = [t for t in trails if t.get("AdvancedEventSelectors") or any(s.get("DataResources") for s in t.get("EventSelectors", []))]
    if with_data:
        events = c.traffic(float(c.use("cloudtrail_data_events_million")) * 10)
        c.add(
            "CloudTrail",
            "S3 data events",
            events,
            "cloudtrail_data_events_100k",
            f"{len(with_data)} trail(s) with data-event selectors; assumption cloudtrail_data_events_million",
        )
    else:
        c.estimate.lines.append(
            CostLine(
                "CloudTrail",
                "Management events (first copy)",
                1,
                "trail",
                0.0,
                f"{len(trails)} trail(s); the first copy of management events is free",
            )
        )
    return True


def _primary(c: _Context) -> str:
    return c.config.primary_region if c.config else PRIMARY_REGION


def _config(c: _Context) -> bool:
    recorders = c.of("AWS::Config::ConfigurationRecorder")
    rules = c.of("AWS::Config::ConfigRule")
    packs = c.of("AWS::Config::ConformancePack")
    if not (recorders or rules or packs):
        return False
    primary = _primary(c)
    if recorders:
        here = [r for r in recorders if r[0].region == primary]
        other = [r for r in recorders if r[0].region != primary]
        c.add(
            "Config",
            "Configuration items",
            c.traffic(c.use("config_items")) * len(here),
            "config_item",
            f"{len(here)} recorder(s) in {primary}; assumption config_items",
        )
        if other:
            regions = ", ".join(sorted({r[0].region for r in other}))
            c.add(
                "Config",
                "Configuration items (other regions)",
                c.traffic(c.use("config_items_other_region")) * len(other),
                "config_item",
                f"{len(other)} recorder(s) in {regions} ({_where(other)}); assumption config_items_other_region per recorder",
            )
    if rules:
        evaluations = c.monthly(len(rules) * float(c.use("config_evaluations_per_rule")))
        c.add(
            "Config",
            "Rule evaluations",
            evaluations,
            "config_rule_evaluation",
            f"{len(rules)} AWS::Config::ConfigRule in {_where(rules)} x assumption config_evaluations_per_rule",
        )
    if packs:
        c.estimate.unpriced.append(f"{len(packs)} conformance pack(s): their rule count is not in the template; evaluations not estimated")
    return True


def _features(detector: dict[str, Any]) -> dict[str, set[str]]:
    """Enabled GuardDuty features of a detector (``Features`` and the older ``DataSources``) with
    their enabled additional configurations."""
    props = detector.get("Properties", {})
    out: dict[str, set[str]] = {}
    for feature in props.get("Features", []):
        if feature.get("Status") == "ENABLED":
            out[feature["Name"]] = {a["Name"] for a in feature.get("AdditionalConfiguration", []) if a.get("Status") == "ENABLED"}
    sources = props.get("DataSources", {})
    if sources.get("S3Logs", {}).get("Enable"):
        out.setdefault("S3_DATA_EVENTS", set())
    return out


def _guardduty(c: _Context) -> bool:
    detectors = c.of("AWS::GuardDuty::Detector")
    if not detectors:
        return False
    primary = _primary(c)
    here = [d for d in detectors if d[0].region == primary]
    other = [d for d in detectors if d[0].region != primary]
    basis = f"{len(here)} detector(s) in {primary} ({_where(here) or 'none'})"
    if here:
        c.add(
            "GuardDuty",
            "CloudTrail events analysed",
            c.traffic(c.use("guardduty_cloudtrail_events_million")),
            "guardduty_cloudtrail_events_million",
            f"{basis}; assumption",
        )
        c.add(
            "GuardDuty",
            "Flow and DNS logs analysed",
            c.traffic(c.use("guardduty_flow_dns_gb")),
            "guardduty_flow_dns_gb",
            "assumption guardduty_flow_dns_gb",
        )
    if other:
        c.add(
            "GuardDuty",
            "CloudTrail events analysed (other regions)",
            c.traffic(c.use("guardduty_cloudtrail_events_million_other_region")) * len(other),
            "guardduty_cloudtrail_events_million",
            f"{len(other)} detector(s) in {', '.join(sorted({d[0].region for d in other}))}; no VPC there, so no flow logs;"
            " assumption guardduty_cloudtrail_events_million_other_region per detector",
        )
    # Protection plans, priced where what they watch lives (the primary region's buckets,
    # database and tasks; the other regions hold none, so their enabled plans analyse nothing).
    enabled = [(d, _features(d[2])) for d in here]
    if any("S3_DATA_EVENTS" in f for _, f in enabled):
        c.add(
            "GuardDuty",
            "S3 Protection: S3 data events analysed",
            c.traffic(c.use("guardduty_s3_events_million")),
            "guardduty_s3_events_million",
            "feature S3_DATA_EVENTS enabled on the detector; every S3 data event in the region, assumption guardduty_s3_events_million",
        )
    if any("RDS_LOGIN_EVENTS" in f for _, f in enabled):
        for cluster in _aurora_clusters(c):
            acu_hours, how = _acu_hours(c, cluster)
            c.add(
                "GuardDuty",
                f"RDS Protection: {cluster.logical_id} ACU-hours",
                acu_hours,
                "guardduty_rds_acu_hour",
                f"feature RDS_LOGIN_EVENTS enabled; billed on the Aurora ACU-hours ({how})",
            )
    if any("ECS_FARGATE_AGENT_MANAGEMENT" in f.get("RUNTIME_MONITORING", set()) for _, f in enabled):
        for service in _ecs_services(c):
            task_hours, how = _task_hours(c, service)
            c.add(
                "GuardDuty",
                f"Runtime Monitoring: {service.logical_id} vCPU-hours",
                task_hours * service.vcpu,
                "guardduty_runtime_vcpu_hour",
                f"feature RUNTIME_MONITORING with ECS_FARGATE_AGENT_MANAGEMENT; {how} x {service.vcpu:g} vCPU",
            )
    return True


_CRON_DAILY = re.compile(r"^cron\(\S+ \S+ \* \* \? \*\)$")
_CRON_MONTHLY = re.compile(r"^cron\(\S+ \S+ \d+ \* \? \*\)$")
_CRON_WEEKLY = re.compile(r"^cron\(\S+ \S+ \? \* [A-Z]{3} \*\)$")
DAYS_PER_MONTH = 365.25 / 12


def _interval_days(schedule: str) -> float | None:
    if _CRON_DAILY.match(schedule):
        return 1.0
    if _CRON_WEEKLY.match(schedule):
        return 7.0
    if _CRON_MONTHLY.match(schedule):
        return DAYS_PER_MONTH
    return None


def _recovery_points(c: _Context) -> tuple[dict[str, float], list[str]]:
    """Recovery points kept at steady state per vault kind ("primary", "copy"), from the backup
    plans' rules: retention days / schedule interval, for the rule's own vault and for each copy
    action. Continuous (point-in-time) rules share the snapshot storage and add no points."""
    points = {"primary": 0.0, "copy": 0.0}
    notes = []
    for _, _, res in c.of("AWS::Backup::BackupPlan"):
        for rule in res.get("Properties", {}).get("BackupPlan", {}).get("BackupPlanRule", []):
            if rule.get("EnableContinuousBackup"):
                continue
            interval = _interval_days(str(rule.get("ScheduleExpression", "")))
            if interval is None:
                c.estimate.unpriced.append(f"backup rule {rule.get('RuleName')}: schedule {rule.get('ScheduleExpression')} not understood")
                continue
            kept = float(rule.get("Lifecycle", {}).get("DeleteAfterDays", interval)) / interval
            points["primary"] += kept
            notes.append(f"{rule.get('RuleName')} {kept:.0f}")
            for copy in rule.get("CopyActions", []):
                points["copy"] += float(copy.get("Lifecycle", {}).get("DeleteAfterDays", interval)) / interval
    return points, notes


def _backup(c: _Context) -> bool:
    vaults = c.of("AWS::Backup::BackupVault")
    if not vaults:
        return False
    has_aurora = bool(c.of("AWS::RDS::DBCluster"))
    primary = _primary(c)
    points, notes = _recovery_points(c)
    kept = f"recovery points kept at steady state: {', '.join(notes) or 'no backup plan in the template (one full copy)'}"
    s3_gb = float(c.use("s3_records_gb"))
    s3_change = float(c.use("backup_s3_change_share_per_point"))
    aurora_gb = float(c.use("aurora_storage_gb")) if has_aurora else 0.0
    aurora_change = float(c.use("backup_aurora_change_share_per_point")) if has_aurora else 0.0
    for stack, lid, _ in vaults:
        n = points["primary"] if stack.region == primary else points["copy"]
        where = f"{stack.name}/{lid} ({stack.region})"
        # Steady state: the first backup is a full copy; every later one stores only what changed,
        # and a retained point keeps the data it alone still references.
        c.add(
            "Backup",
            f"{lid} S3 backup storage",
            c.monthly(s3_gb * (1 + n * s3_change)),
            "backup_warm_gb_month",
            f"{where}: full copy of s3_records_gb + {n:.0f} points x backup_s3_change_share_per_point; {kept}",
        )
        if has_aurora:
            c.add(
                "Backup",
                f"{lid} Aurora snapshot storage",
                c.monthly(aurora_gb * (1 + n * aurora_change)),
                "backup_aurora_gb_month",
                f"{where}: full snapshot of aurora_storage_gb + {n:.0f} points x backup_aurora_change_share_per_point",
            )
    remote = [v for v in vaults if v[0].region != primary]
    if remote:
        c.add(
            "Backup",
            "Cross-region copy transfer",
            c.traffic(c.use("backup_copy_gb")),
            "inter_region_transfer_gb",
            f"{len(remote)} vault(s) outside {primary}; assumption backup_copy_gb (the first copy, a full one, is a one-time charge not included)",
        )
    return True


def _tiered(props: dict[str, Any]) -> bool:
    if props.get("IntelligentTieringConfigurations"):
        return True
    rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
    return any(t.get("StorageClass") == "INTELLIGENT_TIERING" for r in rules for t in r.get("Transitions", []))


def _s3(c: _Context) -> bool:
    buckets = c.of("AWS::S3::Bucket")
    if not buckets:
        return False
    records = [b for b in buckets if b[2].get("Properties", {}).get("ObjectLockEnabled")]
    others = len(buckets) - len(records)
    c.add(
        "S3",
        "Standard storage",
        c.monthly(c.use("s3_standard_gb")),
        "s3_standard_gb_month",
        f"{others} other bucket(s) in {_where(buckets)}; assumption s3_standard_gb",
    )
    if records:
        total = c.monthly(c.use("s3_records_gb"))
        where = f"{len(records)} Object Lock record bucket(s) in {_where(records)}"
        if any(_tiered(b[2].get("Properties", {})) for b in records):
            frequent, infrequent, archive = (float(x) for x in c.use("s3_records_tier_split"))
            c.add("S3", "Records: Intelligent-Tiering frequent", total * frequent, "s3_it_frequent_gb_month", f"{where}; s3_records_gb x split")
            c.add("S3", "Records: Intelligent-Tiering infrequent", total * infrequent, "s3_it_infrequent_gb_month", f"{where}; s3_records_gb x split")
            c.add(
                "S3",
                "Records: Intelligent-Tiering archive instant",
                total * archive,
                "s3_it_archive_instant_gb_month",
                f"{where}; s3_records_gb x split",
            )
            c.add(
                "S3",
                "Records: Intelligent-Tiering monitoring",
                c.monthly(c.use("s3_records_objects_thousand")),
                "s3_it_monitoring_1k_objects",
                "assumption s3_records_objects_thousand",
            )
        else:
            c.add("S3", "Records: Standard storage", total, "s3_standard_gb_month", f"{where} without Intelligent-Tiering; assumption s3_records_gb")
    return True


def _logs(c: _Context) -> bool:
    groups = c.of("AWS::Logs::LogGroup")
    if not groups:
        return False
    c.add(
        "CloudWatch Logs", "Ingestion", c.traffic(c.use("logs_ingest_gb")), "logs_ingest_gb", f"{len(groups)} log group(s); assumption logs_ingest_gb"
    )
    c.add("CloudWatch Logs", "Storage", c.monthly(c.use("logs_stored_gb")), "logs_storage_gb_month", "assumption logs_stored_gb")
    return True


def _alarm_metrics(props: dict[str, Any]) -> int:
    """Billed alarm metrics of one alarm: one for a plain alarm; for a metric-math alarm, each
    metric it reads (CloudWatch bills alarms per metric)."""
    metrics = props.get("Metrics")
    if not metrics:
        return 1
    return sum(1 for m in metrics if "MetricStat" in m) or 1


def _alarms(c: _Context) -> bool:
    alarms = c.of("AWS::CloudWatch::Alarm")
    composite = c.of("AWS::CloudWatch::CompositeAlarm")
    dashboards = c.of("AWS::CloudWatch::Dashboard")
    if not (alarms or composite or dashboards):
        return False
    high = [a for a in alarms if int(a[2].get("Properties", {}).get("Period", 60)) < 60]
    standard = [a for a in alarms if a not in high]
    if standard:
        metrics = sum(_alarm_metrics(a[2].get("Properties", {})) for a in standard)
        c.add(
            "CloudWatch",
            "Alarms (standard resolution)",
            c.monthly(metrics),
            "cloudwatch_alarm_metric_month",
            f"{len(standard)} AWS::CloudWatch::Alarm reading {metrics} metric(s) in {_where(standard)}",
        )
    if high:
        metrics = sum(_alarm_metrics(a[2].get("Properties", {})) for a in high)
        c.add(
            "CloudWatch",
            "Alarms (high resolution)",
            c.monthly(metrics),
            "cloudwatch_alarm_high_resolution_month",
            f"{len(high)} alarm(s) with Period < 60 s",
        )
    if composite:
        c.add(
            "CloudWatch",
            "Composite alarms",
            c.monthly(len(composite)),
            "cloudwatch_composite_alarm_month",
            f"{len(composite)} AWS::CloudWatch::CompositeAlarm",
        )
    if dashboards:
        c.add("CloudWatch", "Dashboards", c.monthly(len(dashboards)), "cloudwatch_dashboard_month", f"{len(dashboards)} AWS::CloudWatch::Dashboard")
    return True


def _xray(c: _Context) -> bool:
    """Traces recorded follow the sampling rules in the template: the lowest-priority (catch-all)
    rule's reservoir (traces per second) plus its fixed rate of the remaining requests."""
    rules = [r[2].get("Properties", {}).get("SamplingRule", {}) for r in c.of("AWS::XRay::SamplingRule")]
    if not rules:
        return False
    default = max(rules, key=lambda r: int(r.get("Priority", 0)))
    reservoir, rate = float(default.get("ReservoirSize", 0)), float(default.get("FixedRate", 0))
    requests = c.traffic(float(c.use("origin_requests_million")) * 1e6)
    seconds = c.active_hours * 3600
    reserved = min(requests, reservoir * seconds)
    traces = reserved + rate * (requests - reserved)
    c.add(
        "X-Ray",
        "Traces recorded",
        traces / 1e6,
        "xray_traces_recorded_million",
        f"catch-all rule {default.get('RuleName')}: reservoir {reservoir:g}/s x {c.active_hours:g} active h + {rate:g} of the rest"
        " of assumption origin_requests_million",
    )
    c.add(
        "X-Ray",
        "Traces retrieved or scanned",
        traces / 1e6 * float(c.use("xray_scans_per_trace")),
        "xray_traces_scanned_million",
        "traces recorded x assumption xray_scans_per_trace (service map, Insights, console)",
    )
    return True


def _lambda(c: _Context) -> bool:
    functions = c.of("AWS::Lambda::Function")
    if not functions:
        return False
    invocations = c.traffic(c.use("lambda_invocations_per_function"))
    seconds = float(c.use("lambda_average_seconds"))
    c.add(
        "Lambda",
        "Requests",
        len(functions) * invocations / 1e6,
        "lambda_requests_million",
        f"{len(functions)} AWS::Lambda::Function in {_where(functions)} x assumption lambda_invocations_per_function",
    )
    for arch, label in (("arm64", "ARM64"), ("x86_64", "x86")):
        group = [f for f in functions if (f[2].get("Properties", {}).get("Architectures") or ["x86_64"])[0] == arch]
        if group:
            memory_gb = sum(int(f[2].get("Properties", {}).get("MemorySize", 128)) / 1024 for f in group)
            c.add(
                "Lambda",
                f"Compute GB-seconds ({label})",
                memory_gb * invocations * seconds,
                "lambda_gb_second_arm" if arch == "arm64" else "lambda_gb_second_x86",
                f"{len(group)} {label} function(s): MemorySize from the templates x invocations x assumption lambda_average_seconds",
            )
    return True


def _macie(c: _Context) -> bool:
    sessions = c.of("AWS::Macie::Session")
    if not sessions:
        return False
    buckets = len(c.of("AWS::S3::Bucket"))
    c.add("Macie", "Buckets evaluated", c.monthly(buckets), "macie_bucket_month", f"{buckets} AWS::S3::Bucket in this stage")
    c.add("Macie", "Sensitive-data discovery", c.traffic(c.use("macie_gb")), "macie_gb_inspected", "assumption macie_gb")
    return True


SERVICES: tuple[tuple[str, Callable[[_Context], bool]], ...] = (
    ("NAT gateways", _nat),
    ("VPC interface endpoints", _endpoints),
    ("Fargate (ECS services)", _fargate),
    ("Aurora Serverless v2", _aurora),
    ("ElastiCache (Redis/Valkey)", _cache),
    ("Application Load Balancer", _alb),
    ("CloudFront", _cloudfront),
    ("WAF", _waf),
    ("Cognito user pools", _cognito),
    ("KMS keys", _kms),
    ("Secrets Manager", _secrets),
    ("CloudTrail", _cloudtrail),
    ("AWS Config", _config),
    ("GuardDuty", _guardduty),
    ("AWS Backup", _backup),
    ("S3", _s3),
    ("CloudWatch Logs", _logs),
    ("CloudWatch alarms and dashboards", _alarms),
    ("X-Ray", _xray),
    ("Lambda", _lambda),
    ("Macie", _macie),
)


def environment_of(stage: str) -> str:
    """The config environment a stage is priced as; stages that are no environment (e.g. an
    organisation stage) are priced with the production usage assumptions."""
    name = stage.rsplit("-", 1)[-1].lower()  # a stage nested in a pipeline stage: "Pipeline-Production"
    return name if name in cfg.ENVIRONMENT_NAMES else "production"


def _in_use_hours(usage: dict[str, Any], key: str, default: float) -> tuple[float, Assumption | None]:
    """An environment's in-use hours; absent means in use all the time (the usage volumes are then
    averages over the whole period)."""
    entry = usage.get(key)
    if entry is None:
        return default, None
    return float(entry["value"]), Assumption(key, entry["value"], entry["unit"], entry["why"])


def estimate(
    stacks: list[StackArtifact],
    stage: str,
    *,
    prices: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
    config: EnvironmentConfig | None = None,
    period: Period | None = None,
) -> Estimate:
    """The estimate of one stage for ``period`` (default: one month, in use for the environment's
    ``in_use_hours_per_month``). ``config`` defaults to the stage's environment config
    (``stacks.config.load``) when the stage is one of the environments."""
    prices = prices or load_prices()
    usage = usage or load_usage()
    environment = environment_of(stage)
    if config is None and stage.rsplit("-", 1)[-1].lower() in cfg.ENVIRONMENT_NAMES:
        config = cfg.load(environment, None)
    hours_per_month = float(prices["hours_per_month"])
    env_usage = usage["environments"][environment]
    in_use, in_use_assumption = _in_use_hours(env_usage, "in_use_hours_per_month", hours_per_month)
    period = period or Period(hours_per_month, in_use)
    result = Estimate(stage=stage, environment=environment)
    if in_use_assumption is not None:
        result.assumptions[in_use_assumption.key] = in_use_assumption
    context = _Context(
        resources=[(s, lid, res) for s in stacks if stage_name(s.stage) == stage for lid, res in s.resources().items()],
        config=config,
        prices=prices,
        usage=env_usage,
        estimate=result,
        hours=period.hours,
        active_hours=period.active_hours,
        hours_per_month=hours_per_month,
        in_use_hours_per_month=in_use,
    )
    for name, rule in SERVICES:
        if not rule(context):
            result.not_estimated.append(name)
    return result


# --- the figures people quote ------------------------------------------------------------------------


def rounded(amount: float) -> int:
    """An amount rounded to what the inputs justify: two significant figures (the usage volumes are
    guesses to within tens of percent, the hand-entered prices to a few percent)."""
    if amount <= 0:
        return 0
    digits = math.floor(math.log10(amount)) - 1
    return int(round(amount, -digits)) if digits > 0 else round(amount)


@dataclass(frozen=True)
class DailyCost:
    idle: float  # a day deployed and unused (Aurora paused, no traffic)
    in_use: float  # a working day: in_use_hours_per_day of traffic, idle the rest
    in_use_hours: float


def daily_cost(
    stacks: list[StackArtifact],
    stage: str = "Sandbox",
    *,
    prices: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
) -> DailyCost:
    """What one day of ``stage`` costs, idle and in use (unrounded USD; pass through ``rounded``
    before quoting). docs/deploy.md quotes the sandbox's."""
    prices = prices or load_prices()
    usage = usage or load_usage()
    env_usage = usage["environments"][environment_of(stage)]
    active, _ = _in_use_hours(env_usage, "in_use_hours_per_day", 24.0)
    idle = estimate(stacks, stage, prices=prices, usage=usage, period=Period(24, 0)).total
    busy = estimate(stacks, stage, prices=prices, usage=usage, period=Period(24, active)).total
    return DailyCost(idle=idle, in_use=busy, in_use_hours=active)


def per_day(stacks: list[StackArtifact], stage: str = "Sandbox", *, prices: dict[str, Any] | None = None) -> dict[str, float]:
    """The figures docs/deploy.md quotes, in USD rounded to cents: ``idle`` and ``in_use`` per day
    (``daily_cost``), ``idle_month`` (deployed, never used) and ``in_use_month`` (the monthly
    estimate, ``in_use_hours_per_month`` of use). Quote them through ``rounded``."""
    prices = prices or load_prices()
    usage = load_usage()
    day = daily_cost(stacks, stage, prices=prices, usage=usage)
    hours = float(prices["hours_per_month"])
    return {
        "idle": round(day.idle, 2),
        "in_use": round(day.in_use, 2),
        "idle_month": estimate(stacks, stage, prices=prices, usage=usage, period=Period(hours, 0)).total,
        "in_use_month": estimate(stacks, stage, prices=prices, usage=usage).total,
    }


@dataclass(frozen=True)
class Summary:
    sandbox_day: DailyCost
    sandbox_month_idle: float
    sandbox_month_in_use: float
    sandbox_in_use_hours_per_month: float
    production_month: Estimate


def summary(stacks: list[StackArtifact], *, prices: dict[str, Any] | None = None, usage: dict[str, Any] | None = None) -> Summary:
    prices = prices or load_prices()
    usage = usage or load_usage()
    hours = float(prices["hours_per_month"])
    sandbox_in_use, _ = _in_use_hours(usage["environments"]["sandbox"], "in_use_hours_per_month", hours)
    return Summary(
        sandbox_day=daily_cost(stacks, "Sandbox", prices=prices, usage=usage),
        sandbox_month_idle=estimate(stacks, "Sandbox", prices=prices, usage=usage, period=Period(hours, 0)).total,
        sandbox_month_in_use=estimate(stacks, "Sandbox", prices=prices, usage=usage).total,
        sandbox_in_use_hours_per_month=sandbox_in_use,
        production_month=estimate(stacks, "Production", prices=prices, usage=usage),
    )


def summary_markdown(result: Summary) -> str:
    day = result.sandbox_day
    lines = [
        "| | USD |",
        "|---|---:|",
        f"| sandbox, one idle day (deployed, unused: Aurora paused, no traffic) | ≈ {rounded(day.idle):,} |",
        f"| sandbox, one day in use ({day.in_use_hours:g} h of use) | ≈ {rounded(day.in_use):,} |",
        f"| sandbox, a month left idle | ≈ {rounded(result.sandbox_month_idle):,} |",
        f"| sandbox, a month in use ({result.sandbox_in_use_hours_per_month:g} h of use) | ≈ {rounded(result.sandbox_month_in_use):,} |",
        f"| production, a month | ≈ {rounded(result.production_month.total):,} |",
    ]
    return "\n".join(lines) + "\n"


def price_rows(prices: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(key, USD, unit, source, date and method) per price, node-type tables expanded."""
    rows = []
    for key, entry in prices["prices"].items():
        dated = f"{entry.get('as_of', prices['as_of'])} ({entry.get('method', 'hand')})"
        if "usd_by_node_type" in entry:
            for node_type, usd in entry["usd_by_node_type"].items():
                rows.append((f"{key}[{node_type}]", f"{usd:g}", str(entry["unit"]), str(entry["source"]), dated))
        else:
            rows.append((key, f"{entry['usd']:g}", str(entry["unit"]), str(entry["source"]), dated))
    return rows


def main(argv: list[str]) -> int:
    """``python -m tools.report.cost [cdk.out] [Stage]``: with a stage, its per-day and per-month
    line; without, the quoted figures, production by service, and the price table."""
    from tools.assembly import stacks as assembly_stacks

    outdir = Path(argv[1] if len(argv) > 1 else "cdk.out")
    if not (outdir / "manifest.json").exists():
        print(f"cost: no cloud assembly at {outdir}; run `make synth` first", file=sys.stderr)
        return 1
    prices = load_prices()
    found = assembly_stacks(outdir)
    if len(argv) > 2:
        figures = per_day(found, argv[2], prices=prices)
        print(
            f"{argv[2]}: USD {figures['idle']:.2f}/day idle, {figures['in_use']:.2f}/day in use "
            f"(USD {figures['idle_month']:.2f} idle / {figures['in_use_month']:.2f} in use per month; eu-central-1 list prices, tools/report/)"
        )
        return 0
    result = summary(found, prices=prices)
    print(summary_markdown(result))
    for service, amount in result.production_month.by_service().items():
        print(f"production  {service:32} {amount:10,.2f}")
    print()
    for row in price_rows(prices):
        print(" | ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
