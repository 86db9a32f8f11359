"""What the architecture picture shows, read from the cloud assembly (and, for the pipeline, the typed config).

Everything placed in the picture comes from a synthesized template: subnets with their tier, AZ
and CIDR (``AWS::EC2::Subnet`` and its ``aws-cdk:subnet-name`` tag), what runs in which subnet
(the load balancer's, the Fargate service's, the endpoints' and the subnet groups' ``SubnetIds``
followed through ``Ref`` and cross-stack ``Fn::GetStackOutput``), the Aurora instances' AZs and
promotion tiers, the Valkey group's AZs, the WAF scope and rules, the stacks per account and
region. The pipeline stacks are top-level stacks that ``-c pipeline=false`` leaves out, so the
tooling account is drawn from ``stacks.config.pipeline`` (its region) and the stages' regions
(its artifact replication regions, as ``stacks.composition.compose`` computes them): the
picture does not depend on that switch.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks.config import environment as env_cfg
from stacks.config import pipeline as pipeline_cfg
from tools.assembly import StackArtifact, stacks

TIERS = ("Public", "App", "Data")  # the subnet groups of constructs/three_tier_vpc.py, internet side first
TIER_KIND = {"Public": "public", "App": "private app", "Data": "isolated data"}
ENDPOINT_NAMES = {
    "kms": "KMS",
    "secretsmanager": "Secrets Manager",
    "ecr.api": "ECR API",
    "ecr.dkr": "ECR registry",
    "logs": "CloudWatch Logs",
    "sts": "STS",
    "xray": "X-Ray",
    "monitoring": "CloudWatch",
    "sns": "SNS",
    "config": "Config",
    "macie2": "Macie",
    "backup": "Backup",
    "elasticache": "ElastiCache",
    "s3": "S3",
    "dynamodb": "DynamoDB",
}


class TopologyError(ValueError):
    """The assembly lacks something the picture must show (a stage, its network, its load balancer)."""


@dataclass(frozen=True)
class Subnet:
    logical_id: str
    tier: str  # Public / App / Data
    cdk_type: str  # Public / Private / Isolated (aws-cdk:subnet-type)
    az: str
    cidr: str
    placed: tuple[str, ...] = ()  # what the templates put into this subnet


@dataclass(frozen=True)
class StackBox:
    name: str
    account_role: str  # workload / management / tooling
    region: str
    types: tuple[tuple[str, int], ...]  # (resource type, count), plumbing left out


@dataclass(frozen=True)
class Topology:
    stage: str
    other_stages: tuple[str, ...]
    vpc_cidr: str
    subnets: tuple[Subnet, ...]
    nat_azs: tuple[str, ...]
    gateway_endpoints: tuple[str, ...]
    interface_endpoints: tuple[str, ...]
    interface_endpoint_tiers: tuple[str, ...]
    alb_tiers: tuple[str, ...]
    alb_listeners: tuple[str, ...]  # "HTTPS 443 (ELBSecurityPolicy-...)", "HTTP 80 -> 443"
    service_tiers: tuple[str, ...]
    service_tasks: str  # "3-30 tasks"
    container_port: int
    aurora: tuple[tuple[str, str], ...]  # (role, az): writer first
    aurora_engine: str
    aurora_port: int
    cache_azs: tuple[str, ...]
    cache_engine: str
    cache_port: int
    data_tiers: tuple[str, ...]  # tiers of the Aurora and cache subnet groups
    buckets: tuple[str, ...]  # data buckets reached through the gateway endpoint
    waf_scope: str
    waf_region: str
    waf_rules: tuple[str, ...]
    distribution_stack: str
    route53_records: int
    alb_ingress: tuple[str, ...]  # the ALB security group's ingress sources, e.g. "443 from pl-a3a144ca"
    service_public_ip: bool
    aurora_tls: bool  # rds.force_ssl in the cluster parameter group
    cache_tls: bool  # TransitEncryptionMode required
    cache_auth: bool  # an AUTH token
    viewer_policy: str
    origin_policy: str
    kms_keys: int  # customer keys in the stage's primary region
    secrets: int
    rotation: tuple[str, ...]  # the secrets' rotation schedules, e.g. "30 days"
    stacks: tuple[StackBox, ...]
    dependencies: tuple[tuple[str, str], ...]  # (stack, stack it needs), both drawn
    regions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # account role -> regions used

    def subnets_of(self, tier: str) -> tuple[Subnet, ...]:
        return tuple(sorted((s for s in self.subnets if s.tier == tier), key=lambda s: s.az))

    @property
    def endpoint_azs(self) -> int:
        return sum(1 for s in self.subnets if any(p.endswith("endpoint ENIs") for p in s.placed))

    @property
    def azs(self) -> tuple[str, ...]:
        return tuple(sorted({s.az for s in self.subnets}))


HIDDEN_PREFIXES = ("AWS::CDK::", "Custom::", "AWS::CloudFormation::")


def _tag(properties: dict[str, Any], key: str) -> str:
    return next((str(t["Value"]) for t in properties.get("Tags", []) if t.get("Key") == key), "")


class _Resolver:
    """Follows ``Ref`` and cross-stack ``Fn::GetStackOutput`` to (stack name, logical ID)."""

    def __init__(self, found: list[StackArtifact]) -> None:
        self.templates = {s.name: s.template() for s in found}

    def target(self, stack: str, value: Any) -> tuple[str, str] | None:
        if isinstance(value, dict):
            if "Ref" in value:
                return stack, str(value["Ref"])
            if "Fn::GetAtt" in value:
                return stack, str(value["Fn::GetAtt"][0])
            if "Fn::GetStackOutput" in value:
                ref = value["Fn::GetStackOutput"]
                other = str(ref["StackName"])
                output = self.templates.get(other, {}).get("Outputs", {}).get(ref["OutputName"], {})
                return self.target(other, output.get("Value"))
        return None

    def subnets(self, stack: str, values: list[Any]) -> list[str]:
        found = [self.target(stack, v) for v in values]
        return [logical_id for t in found if t is not None for logical_id in [t[1]]]


def _resources(template: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(k, r.get("Properties", {})) for k, r in template.get("Resources", {}).items() if r.get("Type") == kind]


def _one(found: dict[str, dict[str, Any]], kind: str, what: str) -> tuple[str, str, dict[str, Any]]:
    for name, template in found.items():
        for logical_id, properties in _resources(template, kind):
            return name, logical_id, properties
    raise TopologyError(f"the stage has no {kind} ({what}); the picture cannot show the traffic path without it")


def _service_name(value: Any) -> str:
    text = value if isinstance(value, str) else "".join(p for p in value.get("Fn::Join", ["", []])[1] if isinstance(p, str))
    short = text.removeprefix("com.amazonaws.").partition(".")[2]  # drop the region (or the empty Ref part)
    return ENDPOINT_NAMES.get(short, short)


def account_role(stage: str) -> str:
    return "management" if stage == "Organization" else "workload"


def tooling_regions(stages: tuple[str, ...] = ("sandbox", "production")) -> tuple[str, tuple[str, ...]]:
    """(pipeline region, artifact replication regions), as stacks/composition.compose derives them."""
    config = pipeline_cfg.tooling()
    envs = [env_cfg.load(name, None) for name in stages]
    replication = sorted({r for e in envs for r in (e.primary_region, e.dr_region, e.edge_region)} - {config.region})
    return config.region, tuple(replication)


def load(outdir: Path, stage: str = "Production") -> Topology:
    staged = [s for s in stacks(outdir) if s.stage]
    names = {s.stage.removeprefix("assembly-") for s in staged}

    def stage_of(s: StackArtifact) -> str | None:
        # The review synth's environment stages sit in the pipeline (assembly-Pipeline-Production): they are
        # that environment's stage. A pipeline's copy of a stage that is also at the top is left out.
        name = s.stage.removeprefix("assembly-")
        short = name.removeprefix("Pipeline-")
        return None if short != name and short in names else short

    found = [s for s in staged if stage_of(s) is not None]
    by_stage: dict[str, list[StackArtifact]] = {}
    for s in found:
        by_stage.setdefault(str(stage_of(s)), []).append(s)
    workload = [n for n in by_stage if n != "Organization" and not n.startswith("Pipeline")]
    if stage not in by_stage and workload:
        stage = workload[-1]  # e.g. `-c environments=sandbox`: draw the stage that was synthesized
    if stage not in by_stage:
        raise TopologyError(f"the assembly has no {stage} stage (stages: {', '.join(sorted(by_stage)) or 'none'})")
    resolver = _Resolver(by_stage[stage])
    templates = resolver.templates

    subnets: dict[str, Subnet] = {}
    net_stack, _, vpc = _one(templates, "AWS::EC2::VPC", "the VPC")
    for logical_id, p in _resources(templates[net_stack], "AWS::EC2::Subnet"):
        subnets[logical_id] = Subnet(
            logical_id, _tag(p, "aws-cdk:subnet-name"), _tag(p, "aws-cdk:subnet-type"), str(p["AvailabilityZone"]), str(p["CidrBlock"])
        )
    placed: dict[str, list[str]] = {k: [] for k in subnets}

    def tiers_of(logical_ids: list[str]) -> tuple[str, ...]:
        return tuple(t for t in TIERS if any(subnets[i].tier == t for i in logical_ids if i in subnets))

    nat_azs = []
    for _, p in _resources(templates[net_stack], "AWS::EC2::NatGateway"):
        target = resolver.target(net_stack, p.get("SubnetId"))
        if target and target[1] in subnets:
            nat_azs.append(subnets[target[1]].az)
            placed[target[1]].append("NAT gateway")
    gateway, interface, interface_subnets = [], [], []
    for _, p in _resources(templates[net_stack], "AWS::EC2::VPCEndpoint"):
        name = _service_name(p.get("ServiceName", ""))
        if p.get("VpcEndpointType") == "Interface":
            interface.append(name)
            interface_subnets.extend(resolver.subnets(net_stack, p.get("SubnetIds", [])))
        else:
            gateway.append(name)
    for logical_id, count in Counter(interface_subnets).items():
        placed[logical_id].append(f"{count} endpoint ENIs")

    app_stack, _, alb = _one(templates, "AWS::ElasticLoadBalancingV2::LoadBalancer", "the load balancer")
    alb_subnets = resolver.subnets(app_stack, alb.get("Subnets", []))
    for logical_id in alb_subnets:
        placed[logical_id].insert(0, "ALB node")
    listeners = []
    for _, p in sorted(_resources(templates[app_stack], "AWS::ElasticLoadBalancingV2::Listener"), key=lambda r: -int(r[1]["Port"])):
        redirect = next((a["RedirectConfig"] for a in p.get("DefaultActions", []) if a.get("Type") == "redirect"), None)
        suffix = f" \u2192 {redirect['Port']}" if redirect else f" ({p['SslPolicy']})" if p.get("SslPolicy") else ""
        listeners.append(f"{p['Protocol']} {p['Port']}{suffix}")
    service_stack, _, service = _one(templates, "AWS::ECS::Service", "the Fargate service")
    service_subnets = resolver.subnets(service_stack, service["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"])
    for logical_id in service_subnets:
        placed[logical_id].insert(0, "Fargate tasks")
    scaling = [p for _, p in _resources(templates[service_stack], "AWS::ApplicationAutoScaling::ScalableTarget")]
    tasks = f"{scaling[0]['MinCapacity']}\u2013{scaling[0]['MaxCapacity']} tasks" if scaling else f"{service.get('DesiredCount', 1)} tasks"
    port = int(service["LoadBalancers"][0]["ContainerPort"]) if service.get("LoadBalancers") else 0

    data_stack, cluster_id, cluster = _one(templates, "AWS::RDS::DBCluster", "the Aurora cluster")
    instances = sorted(
        (int(p.get("PromotionTier", 1)), str(p.get("AvailabilityZone", "")), k)
        for k, p in _resources(templates[data_stack], "AWS::RDS::DBInstance")
        if resolver.target(data_stack, p.get("DBClusterIdentifier")) == (data_stack, cluster_id)
    )
    aurora = tuple(("writer" if i == 0 else "reader", az) for i, (_, az, _) in enumerate(instances))
    group = next(
        p
        for k, p in _resources(templates[data_stack], "AWS::RDS::DBSubnetGroup")
        if resolver.target(data_stack, cluster.get("DBSubnetGroupName")) == (data_stack, k)
    )
    data_subnets = resolver.subnets(data_stack, group["SubnetIds"])
    _, _, cache = _one(templates, "AWS::ElastiCache::ReplicationGroup", "the cache")
    cache_group = next(
        p
        for k, p in _resources(templates[data_stack], "AWS::ElastiCache::SubnetGroup")
        if resolver.target(data_stack, cache.get("CacheSubnetGroupName")) == (data_stack, k)
    )
    data_subnets += resolver.subnets(data_stack, cache_group["SubnetIds"])
    by_az = {s.az: s.logical_id for s in subnets.values() if s.logical_id in data_subnets}
    for role, az in aurora:
        placed[by_az[az]].append(f"Aurora {role}")
    cache_azs = tuple(cache.get("PreferredCacheClusterAZs") or ())
    for az in cache_azs:
        placed[by_az[az]].append(f"{cache.get('Engine', 'cache').capitalize()} node")
    buckets = tuple(sorted(k.removesuffix(k[-8:]) for k, p in _resources(templates[data_stack], "AWS::S3::Bucket") if p.get("ObjectLockEnabled")))

    alb_groups = {resolver.target(app_stack, g) for g in alb.get("SecurityGroups", [])}
    alb_ingress = tuple(
        sorted(
            f"{p['FromPort']} from {p.get('SourcePrefixListId') or p.get('CidrIp') or 'a security group'}"
            for name, t in templates.items()
            for _, p in _resources(t, "AWS::EC2::SecurityGroupIngress")
            if resolver.target(name, p.get("GroupId")) in alb_groups
        )
    )
    parameter_group = resolver.target(data_stack, cluster.get("DBClusterParameterGroupName"))
    groups = _resources(templates[data_stack], "AWS::RDS::DBClusterParameterGroup")
    parameters: dict[str, Any] = next((p.get("Parameters", {}) for k, p in groups if parameter_group == (data_stack, k)), {})
    rotation = set()
    for t in templates.values():
        for _, p in _resources(t, "AWS::SecretsManager::RotationSchedule"):
            rules = p.get("RotationRules") or {}
            days = p.get("AutomaticallyAfterDays") or rules.get("AutomaticallyAfterDays")
            expression = str(rules.get("ScheduleExpression", ""))
            rotation.add(f"{days} days" if days else expression.removeprefix("rate(").removesuffix(")"))
    # The distribution's web ACL (CLOUDFRONT scope); the user pool's REGIONAL one is not on this path.
    edge_acls = {n: t for n, t in templates.items() if any(p.get("Scope") == "CLOUDFRONT" for _, p in _resources(t, "AWS::WAFv2::WebACL"))}
    waf_stack, _, waf = _one(edge_acls, "AWS::WAFv2::WebACL", "the CloudFront web ACL")
    dist_stack, _, distribution = _one(templates, "AWS::CloudFront::Distribution", "the CloudFront distribution")
    dist_config = distribution.get("DistributionConfig", {})
    origins: list[dict[str, Any]] = dist_config.get("Origins", [])
    origin: dict[str, Any] = origins[0].get("CustomOriginConfig", {}) if origins else {}
    records = sum(len(_resources(t, "AWS::Route53::RecordSet")) for t in templates.values())

    boxes: list[StackBox] = []
    shown = [s for s in found if stage_of(s) in (stage, "Organization")]
    for s in shown:
        counts = Counter(str(r.get("Type", "")) for r in s.resources().values())
        types = tuple(sorted(((t, n) for t, n in counts.items() if not t.startswith(HIDDEN_PREFIXES)), key=lambda tn: (-tn[1], tn[0])))
        boxes.append(StackBox(s.name, account_role(str(stage_of(s))), s.region, types))
    names = {b.name for b in boxes}
    dependencies = tuple(sorted((a, b) for a, needs in _dependencies(outdir).items() if a in names for b in needs if b in names))
    regions: dict[str, tuple[str, ...]] = {}
    for b in boxes:
        regions[b.account_role] = tuple(sorted({*regions.get(b.account_role, ()), b.region}))
    pipeline_region, replication = tooling_regions()
    regions["tooling"] = tuple(sorted({pipeline_region, *replication}))

    final = {k: Subnet(s.logical_id, s.tier, s.cdk_type, s.az, s.cidr, tuple(placed[k])) for k, s in subnets.items()}
    return Topology(
        stage=stage,
        other_stages=tuple(sorted(n for n in by_stage if n not in (stage, "Organization") and not n.startswith("Pipeline"))),
        vpc_cidr=str(vpc["CidrBlock"]),
        subnets=tuple(sorted(final.values(), key=lambda s: (TIERS.index(s.tier) if s.tier in TIERS else 9, s.az))),
        nat_azs=tuple(sorted(nat_azs)),
        gateway_endpoints=tuple(sorted(gateway)),
        interface_endpoints=tuple(interface),
        interface_endpoint_tiers=tiers_of(interface_subnets),
        alb_tiers=tiers_of(alb_subnets),
        alb_listeners=tuple(listeners),
        service_tiers=tiers_of(service_subnets),
        service_tasks=tasks,
        container_port=port,
        aurora=aurora,
        aurora_engine=f"{cluster.get('Engine', '')} {cluster.get('EngineVersion', '')}".strip(),
        aurora_port=int(cluster.get("Port", 5432)),
        cache_azs=cache_azs,
        cache_engine=f"{cache.get('Engine', '')} {cache.get('EngineVersion', '')}".strip(),
        cache_port=int(cache.get("Port", 6379)),
        data_tiers=tiers_of(data_subnets),
        buckets=buckets,
        waf_scope=str(waf.get("Scope", "")),
        waf_region=next(s.region for s in found if s.name == waf_stack),
        waf_rules=tuple(str(r["Name"]) for r in waf.get("Rules", [])),
        distribution_stack=dist_stack,
        route53_records=records,
        alb_ingress=alb_ingress,
        service_public_ip=service["NetworkConfiguration"]["AwsvpcConfiguration"].get("AssignPublicIp") == "ENABLED",
        aurora_tls=str(parameters.get("rds.force_ssl", "0")) == "1",
        cache_tls=cache.get("TransitEncryptionMode") == "required" and bool(cache.get("TransitEncryptionEnabled")),
        cache_auth="AuthToken" in cache,
        viewer_policy=str(dist_config.get("DefaultCacheBehavior", {}).get("ViewerProtocolPolicy", "")),
        origin_policy=" ".join([str(origin.get("OriginProtocolPolicy", "")), *origin.get("OriginSSLProtocols", [])]).strip(),
        kms_keys=sum(len(_resources(t, "AWS::KMS::Key")) for n, t in templates.items() if n.endswith("-Keys")),
        secrets=sum(len(_resources(t, "AWS::SecretsManager::Secret")) for t in templates.values()),
        rotation=tuple(sorted(r for r in rotation if r)),
        stacks=tuple(boxes),
        dependencies=dependencies,
        regions=regions,
    )


def _dependencies(outdir: Path) -> dict[str, tuple[str, ...]]:
    from tools.report.model import _stack_dependencies  # one reader of the manifest's dependencies

    return _stack_dependencies(outdir)


def differences(drawn: Topology, other: Topology) -> list[str]:
    """How ``other`` (e.g. the sandbox) differs from the drawn stage, in the picture's terms."""
    out = []
    own = {b.name.split("-", 1)[1] for b in drawn.stacks if b.account_role == "workload"}
    theirs = {b.name.split("-", 1)[1] for b in other.stacks if b.account_role == "workload"}
    out.append("the same stacks" if own == theirs else f"stacks differ: {', '.join(sorted(own ^ theirs))}")
    if other.service_tasks != drawn.service_tasks:
        out.append(other.service_tasks)
    if len(other.aurora) != len(drawn.aurora):
        out.append(f"{len(other.aurora)} Aurora instance(s)")
    if len(other.cache_azs) != len(drawn.cache_azs):
        out.append(f"{len(other.cache_azs)} cache node(s)")
    if len(other.nat_azs) != len(drawn.nat_azs):
        out.append(f"{len(other.nat_azs)} NAT gateway(s)")
    if other.endpoint_azs != drawn.endpoint_azs:
        out.append(f"interface endpoints in {other.endpoint_azs} AZ(s)")
    return out
