"""Monthly cost estimate per stage from the synthesized templates, the typed config and a dated price table.

Quantities come, in this order of preference, from the typed config (``stacks/config``: NAT
gateways, endpoint AZs), from the synthesized templates (resource counts, task sizes, Aurora
capacity bounds, cache node types, web ACL rules) and, only for what no template can know (traffic,
stored GB), from ``usage_assumptions.json``. Every line says where its quantity came from; every
usage assumption used is listed with the estimate. Services with no resource in the assembly yet
are listed as not estimated rather than guessed.
"""

from __future__ import annotations

import json
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
        self.estimate.lines.append(CostLine(service, item, round(quantity, 4), self.unit(price_key), round(self.price(price_key) * factor, 6), basis))


def _where(items: list[tuple[StackArtifact, str, dict[str, Any]]]) -> str:
    stacks = sorted({s.name for s, _, _ in items})
    return ", ".join(stacks)


# --- one function per service; each returns False when the assembly holds nothing to price ---------


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
    c.add("VPC", "NAT data processed", c.use("nat_gb"), "nat_gateway_gb", "assumption nat_gb")
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
    c.add("VPC", "Interface endpoint data processed", c.use("endpoint_gb"), "interface_endpoint_gb", "assumption endpoint_gb")
    return True


def _fargate(c: _Context) -> bool:
    services = c.of("AWS::ECS::Service")
    if not services:
        return False
    task_defs = {lid: res.get("Properties", {}) for _, lid, res in c.of("AWS::ECS::TaskDefinition")}
    targets = c.of("AWS::ApplicationAutoScaling::ScalableTarget")
    extra = float(c.use("fargate_average_tasks_over_minimum"))
    for stack, lid, service in services:
        props = service.get("Properties", {})
        task = task_defs.get(referenced_id(props.get("TaskDefinition")))
        if task is None or "Cpu" not in task:
            c.estimate.unpriced.append(f"ECS service {stack.name}/{lid}: task definition size not found in the template")
            continue
        vcpu = int(task["Cpu"]) / 1024
        memory_gb = int(task["Memory"]) / 1024
        arm = task.get("RuntimePlatform", {}).get("CpuArchitecture") == "ARM64"
        scaling = [t[2]["Properties"] for t in targets if lid in json.dumps(t[2]["Properties"].get("ResourceId"))]
        minimum = int(scaling[0]["MinCapacity"]) if scaling else int(props.get("DesiredCount", 1))
        maximum = int(scaling[0]["MaxCapacity"]) if scaling else minimum
        tasks = min(minimum + extra, maximum)
        source = f"autoscaling min {minimum}/max {maximum}" if scaling else f"DesiredCount {minimum}"
        basis = f"{stack.name}/{lid}: {tasks:g} tasks ({source} + assumption) x {vcpu:g} vCPU / {memory_gb:g} GB x {c.hours:g} h"
        arch = "arm" if arm else "x86"
        c.add("Fargate", f"{lid} vCPU-hours ({'ARM64' if arm else 'x86'})", tasks * vcpu * c.hours, f"fargate_vcpu_hour_{arch}", basis)
        c.add("Fargate", f"{lid} GB-hours ({'ARM64' if arm else 'x86'})", tasks * memory_gb * c.hours, f"fargate_gb_hour_{arch}", basis)
    return True


def _aurora(c: _Context) -> bool:
    clusters = c.of("AWS::RDS::DBCluster")
    if not clusters:
        return False
    instances = c.of("AWS::RDS::DBInstance")
    for stack, lid, cluster in clusters:
        props = cluster.get("Properties", {})
        members = [i for i in instances if referenced_id(i[2].get("Properties", {}).get("DBClusterIdentifier")) == lid]
        serverless = [i for i in members if i[2]["Properties"].get("DBInstanceClass") == "db.serverless"]
        for _, other, res in members:
            if res["Properties"].get("DBInstanceClass") != "db.serverless":
                c.estimate.unpriced.append(
                    f"Aurora instance {stack.name}/{other}: provisioned class {res['Properties'].get('DBInstanceClass')} not in the price table"
                )
        scaling = props.get("ServerlessV2ScalingConfiguration", {})
        low, high = float(scaling.get("MinCapacity", 0.5)), float(scaling.get("MaxCapacity", 1))
        acu = min(max(float(c.use("aurora_average_acu")), low), high)
        bounds = f"assumption, within min {low:g}/max {high:g}"
        basis = f"{stack.name}/{lid}: {len(serverless)} db.serverless instances x {acu:g} ACU ({bounds}) x {c.hours:g} h"
        c.add("Aurora", f"{lid} ACU-hours", len(serverless) * acu * c.hours, "aurora_serverless_v2_acu_hour", basis)
        c.add("Aurora", f"{lid} storage", c.use("aurora_storage_gb"), "aurora_storage_gb_month", "assumption aurora_storage_gb")
        c.add("Aurora", f"{lid} I/O", c.use("aurora_io_million"), "aurora_io_million", "assumption aurora_io_million")
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
        c.add("ElastiCache", f"{lid} ECPUs ({engine})", c.use("cache_serverless_ecpu_million"), "elasticache_serverless_ecpu_million",
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
        len(albs) * float(c.use("alb_lcu")) * c.hours,
        "alb_lcu_hour",
        f"assumption alb_lcu x {c.hours:g} h per ALB",
    )
    return True


def _cloudfront(c: _Context) -> bool:
    distributions = c.of("AWS::CloudFront::Distribution")
    if not distributions:
        return False
    basis = f"{len(distributions)} distribution(s) in {_where(distributions)}"
    c.add("CloudFront", "Data out (Europe)", c.use("cloudfront_gb"), "cloudfront_gb_europe", f"{basis}; assumption cloudfront_gb")
    c.add(
        "CloudFront",
        "HTTPS requests",
        float(c.use("cloudfront_requests_million")) * 100,
        "cloudfront_https_10k",
        "assumption cloudfront_requests_million",
    )
    return True


def _waf(c: _Context) -> bool:
    acls = c.of("AWS::WAFv2::WebACL")
    if not acls:
        return False
    rules = sum(len(r[2].get("Properties", {}).get("Rules", [])) for r in acls)
    c.add("WAF", "Web ACLs", len(acls), "waf_web_acl_month", f"{len(acls)} AWS::WAFv2::WebACL in {_where(acls)}")
    c.add("WAF", "Rules and managed rule groups", rules, "waf_rule_month", f"{rules} rules counted in the web ACLs' Rules")
    requests = float(c.use("cloudfront_requests_million")) * len(acls)
    c.add(
        "WAF",
        "Requests inspected",
        requests,
        "waf_requests_million",
        f"every request inspected by each of {len(acls)} web ACL(s); assumption cloudfront_requests_million",
    )
    return True


def _kms(c: _Context) -> bool:
    keys = c.of("AWS::KMS::Key")
    if not keys:
        return False
    c.add("KMS", "Customer-managed keys", len(keys), "kms_key_month", f"{len(keys)} AWS::KMS::Key in {_where(keys)}")
    c.add("KMS", "API requests", c.use("kms_requests_10k"), "kms_requests_10k", "assumption kms_requests_10k")
    return True


def _secrets(c: _Context) -> bool:
    secrets = c.of("AWS::SecretsManager::Secret")
    if not secrets:
        return False
    c.add("Secrets Manager", "Secrets", len(secrets), "secret_month", f"{len(secrets)} AWS::SecretsManager::Secret in {_where(secrets)}")
    c.add("Secrets Manager", "API calls", c.use("secret_api_10k"), "secret_api_10k", "assumption secret_api_10k")
    return True


def _cloudtrail(c: _Context) -> bool:
    trails = c.props("AWS::CloudTrail::Trail")
    if not trails:
        return False
    with_data = [t for t in trails if t.get("AdvancedEventSelectors") or any(s.get("DataResources") for s in t.get("EventSelectors", []))]
    if with_data:
        events = float(c.use("cloudtrail_data_events_million")) * 10
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


def _config(c: _Context) -> bool:
    recorders = c.of("AWS::Config::ConfigurationRecorder")
    rules = c.of("AWS::Config::ConfigRule")
    packs = c.of("AWS::Config::ConformancePack")
    if not (recorders or rules or packs):
        return False
    if recorders:
        c.add("Config", "Configuration items", c.use("config_items"), "config_item", f"{len(recorders)} recorder(s); assumption config_items")
    if rules:
        evaluations = len(rules) * float(c.use("config_evaluations_per_rule"))
        c.add(
            "Config",
            "Rule evaluations",
            evaluations,
            "config_rule_evaluation",
            f"{len(rules)} AWS::Config::ConfigRule x assumption config_evaluations_per_rule",
        )
    if packs:
        c.estimate.unpriced.append(f"{len(packs)} conformance pack(s): their rule count is not in the template; evaluations not estimated")
    return True


def _guardduty(c: _Context) -> bool:
    detectors = c.of("AWS::GuardDuty::Detector")
    if not detectors:
        return False
    basis = f"{len(detectors)} detector(s) in {_where(detectors)}"
    c.add(
        "GuardDuty",
        "CloudTrail events analysed",
        c.use("guardduty_cloudtrail_events_million"),
        "guardduty_cloudtrail_events_million",
        f"{basis}; assumption",
    )
    c.add("GuardDuty", "Flow and DNS logs analysed", c.use("guardduty_flow_dns_gb"), "guardduty_flow_dns_gb", "assumption guardduty_flow_dns_gb")
    return True


def _backup(c: _Context) -> bool:
    vaults = c.of("AWS::Backup::BackupVault")
    if not vaults:
        return False
    has_aurora = bool(c.of("AWS::RDS::DBCluster"))
    for stack, lid, _ in vaults:
        where = f"{stack.name}/{lid} ({stack.region})"
        c.add("Backup", f"{lid} S3 backup storage", c.use("backup_s3_gb"), "backup_warm_gb_month", f"{where}; assumption backup_s3_gb")
        if has_aurora:
            c.add(
                "Backup",
                f"{lid} Aurora snapshot storage",
                c.use("backup_aurora_gb"),
                "backup_aurora_gb_month",
                f"{where}; assumption backup_aurora_gb",
            )
    primary = c.config.primary_region if c.config else PRIMARY_REGION
    remote = [v for v in vaults if v[0].region != primary]
    if remote:
        c.add(
            "Backup",
            "Cross-region copy transfer",
            c.use("backup_copy_gb"),
            "inter_region_transfer_gb",
            f"{len(remote)} vault(s) outside {primary}; assumption backup_copy_gb",
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
        c.use("s3_standard_gb"),
        "s3_standard_gb_month",
        f"{others} other bucket(s) in {_where(buckets)}; assumption s3_standard_gb",
    )
    if records:
        total = float(c.use("s3_records_gb"))
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
                c.use("s3_records_objects_thousand"),
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
    c.add("CloudWatch Logs", "Ingestion", c.use("logs_ingest_gb"), "logs_ingest_gb", f"{len(groups)} log group(s); assumption logs_ingest_gb")
    c.add("CloudWatch Logs", "Storage", c.use("logs_stored_gb"), "logs_storage_gb_month", "assumption logs_stored_gb")
    return True


def _macie(c: _Context) -> bool:
    sessions = c.of("AWS::Macie::Session")
    if not sessions:
        return False
    buckets = len(c.of("AWS::S3::Bucket"))
    c.add("Macie", "Buckets evaluated", buckets, "macie_bucket_month", f"{buckets} AWS::S3::Bucket in this stage")
    c.add("Macie", "Sensitive-data discovery", c.use("macie_gb"), "macie_gb_inspected", "assumption macie_gb")
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
    ("KMS keys", _kms),
    ("Secrets Manager", _secrets),
    ("CloudTrail", _cloudtrail),
    ("AWS Config", _config),
    ("GuardDuty", _guardduty),
    ("AWS Backup", _backup),
    ("S3", _s3),
    ("CloudWatch Logs", _logs),
    ("Macie", _macie),
)


def environment_of(stage: str) -> str:
    """The config environment a stage is priced as; stages that are no environment (e.g. an
    organisation stage) are priced with the production usage assumptions."""
    name = stage.rsplit("-", 1)[-1].lower()  # a stage nested in a pipeline stage: "Pipeline-Production"
    return name if name in cfg.ENVIRONMENT_NAMES else "production"


def estimate(
    stacks: list[StackArtifact],
    stage: str,
    *,
    prices: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
    config: EnvironmentConfig | None = None,
) -> Estimate:
    """The monthly estimate of one stage. ``config`` defaults to the stage's environment config
    (``stacks.config.load``) when the stage is one of the environments."""
    prices = prices or load_prices()
    usage = usage or load_usage()
    environment = environment_of(stage)
    if config is None and stage.rsplit("-", 1)[-1].lower() in cfg.ENVIRONMENT_NAMES:
        config = cfg.load(environment, None)
    result = Estimate(stage=stage, environment=environment)
    context = _Context(
        resources=[(s, lid, res) for s in stacks if stage_name(s.stage) == stage for lid, res in s.resources().items()],
        config=config,
        prices=prices,
        usage=usage["environments"][environment],
        estimate=result,
        hours=float(prices["hours_per_month"]),
    )
    for name, rule in SERVICES:
        if not rule(context):
            result.not_estimated.append(name)
    return result


# Usage that stays while nobody uses the sandbox: data at rest. Everything else in the usage
# assumptions (traffic, requests, events, evaluations, ACU above the minimum, tasks above the
# minimum) is what "in use" adds; an idle day has none of it.
AT_REST_USAGE = frozenset(
    {
        "aurora_storage_gb",
        "cache_serverless_gb",
        "backup_s3_gb",
        "backup_aurora_gb",
        "s3_standard_gb",
        "s3_records_gb",
        "s3_records_objects_thousand",
        "s3_records_tier_split",
        "logs_stored_gb",
    }
)


def idle_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """The usage assumptions of an idle environment: data at rest kept, every other quantity zero."""
    idle = json.loads(json.dumps(usage))
    for entries in idle["environments"].values():
        for key, entry in entries.items():
            if key not in AT_REST_USAGE:
                entry["value"] = 0
    result: dict[str, Any] = idle
    return result


def per_day(stacks: list[StackArtifact], stage: str, *, prices: dict[str, Any] | None = None) -> dict[str, float]:
    """The stage's cost per day, idle and in use (the month's estimate over the price table's days)."""
    prices = prices or load_prices()
    days = float(prices["hours_per_month"]) / 24
    in_use = estimate(stacks, stage, prices=prices).total
    idle = estimate(stacks, stage, prices=prices, usage=idle_usage(load_usage())).total
    return {"idle": round(idle / days, 2), "in_use": round(in_use / days, 2), "idle_month": idle, "in_use_month": in_use}


if __name__ == "__main__":  # python -m tools.report.cost cdk.out Sandbox
    import sys

    from tools.assembly import stacks as _stacks

    outdir, stage = Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out"), sys.argv[2] if len(sys.argv) > 2 else "Sandbox"
    figures = per_day(_stacks(outdir), stage)
    print(
        f"{stage}: USD {figures['idle']:.2f}/day idle, {figures['in_use']:.2f}/day in use "
        f"(USD {figures['idle_month']:.2f} / {figures['in_use_month']:.2f} per month; eu-central-1 list prices, tools/report/)"
    )
