"""The architecture pictures of the synthesized app, laid out by Graphviz.

Two views, both generated from the cloud assembly (``tools.report.topology`` reads it):

- ``docs/architecture.svg``: the traffic path, numbered (user, Route 53, CloudFront with WAF and
  Shield, the ALB in the public subnets, Fargate in the private app subnets, Aurora and Valkey in
  the isolated data subnets, S3 through the gateway endpoint, KMS and Secrets Manager through
  interface endpoints), the three subnet tiers over the three AZs with their CIDRs and what the
  templates place in each, the regions, and the accounts (workload, tooling, management).
- ``docs/architecture-stacks.svg``: the stack map: one box per CloudFormation stack with its
  resource types, inside its account and region, an arrow per stack dependency.

Graphviz lays both out (boxes nested in clusters, edges routed around boxes), from DOT text that
this module writes with stable ordering and no timestamps. Usage (``make diagram``):
  python -m tools.report.diagram [cdk.out] [docs/architecture.svg] [docs/architecture-stacks.svg]
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from stacks.pipeline_stack import TEST_COMMAND
from tools.report import topology
from tools.report.dot import Cluster, Graph, GraphvizMissing, html, to_svg
from tools.report.topology import TIER_KIND, TIERS, StackBox, Topology

REGION_ROLE = {
    "workload": {
        "eu-central-1": "primary: three AZs",
        "eu-west-1": "disaster recovery: backup copies, detection",
        "us-east-1": "edge only: WAF web ACL, detection",
    },
    "management": {"us-east-1": "AWS Organizations endpoint: OUs and SCPs", "eu-central-1": "IAM Identity Center home region"},
    "tooling": {"eu-central-1": "the delivery pipeline", "eu-west-1": "artifact replication", "us-east-1": "artifact replication"},
}
ACCOUNT_LABEL = {
    "workload": "Workload account",
    "tooling": "Tooling account (delivery pipeline)",
    "management": "Management account (organisation)",
}
FRIENDLY = {  # in the order a stack's box lists them: what the stack is for first, its plumbing last
    "AWS::Cognito::UserPool": "Cognito user pool",
    "AWS::WAFv2::WebACL": "WAF web ACL",
    "AWS::CloudFront::Distribution": "CloudFront distribution",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load balancer",
    "AWS::ECS::Service": "Fargate service",
    "AWS::RDS::DBCluster": "Aurora cluster",
    "AWS::RDS::DBInstance": "Aurora instance",
    "AWS::ElastiCache::ReplicationGroup": "Valkey group",
    "AWS::EC2::Subnet": "subnet",
    "AWS::EC2::VPCEndpoint": "VPC endpoint",
    "AWS::EC2::NatGateway": "NAT gateway",
    "AWS::CloudTrail::Trail": "CloudTrail trail",
    "AWS::Config::ConfigRule": "Config rule",
    "AWS::Config::ConfigurationRecorder": "Config recorder",
    "AWS::GuardDuty::Detector": "GuardDuty detector",
    "AWS::Macie::Session": "Macie session",
    "AWS::Backup::BackupVault": "backup vault",
    "AWS::Backup::BackupPlan": "backup plan",
    "AWS::CloudWatch::Alarm": "CloudWatch alarm",
    "AWS::CloudWatch::Dashboard": "dashboard",
    "AWS::XRay::Group": "X-Ray group",
    "AWS::Organizations::Policy": "organization policy",
    "AWS::Organizations::OrganizationalUnit": "OU",
    "AWS::SSO::PermissionSet": "permission set",
    "AWS::SSO::Assignment": "group assignment",
    "AWS::SecretsManager::Secret": "secret",
    "AWS::Lambda::Function": "Lambda function",
    "AWS::SNS::Topic": "SNS topic",
    "AWS::EC2::SecurityGroup": "security group",
    # Last: nearly every stack has its own key and buckets.
    "AWS::KMS::Key": "KMS key",
    "AWS::S3::Bucket": "S3 bucket",
}
# Resource types that say what a supporting stack is for, in this order (others are plumbing here).
SIGNIFICANT = tuple(FRIENDLY)
PATH_STACK_SUFFIXES = ("-Network", "-App", "-Data", "-Edge")  # drawn as the traffic path, not as stack boxes

INK, MUTED, PATH = "#1d2633", "#4a5568", "#c0392b"
FILL = {"workload": "#f3f7fc", "tooling": "#f6f3fb", "management": "#fbf6ee"}
REGION_FILL = "#ffffff"
TIER_FILL = {"Public": "#eaf5ea", "App": "#e8f0fb", "Data": "#fdeeee"}


def _label(resource_type: str) -> str:
    return FRIENDLY.get(resource_type) or resource_type.split("::")[-1]


def _plural(count: int, noun: str) -> str:
    if count == 1 or noun.endswith("s"):
        return f"{count} {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else f"{count} {noun}s"


def _summary(box: StackBox, limit: int = 4) -> list[str]:
    counts = dict(box.types)
    chosen = [t for t in SIGNIFICANT if t in counts][:limit]
    return [_plural(counts[t], _label(t)) for t in chosen]


def _node_class(account: str, region: str, stack: str = "") -> str:
    return " ".join(p for p in (f"account-{account}", f"region-{region}", f"stack-{stack}" if stack else "") if p)


def _graph(title: str, subtitle: str) -> Graph:
    return Graph(
        graph={
            "rankdir": "TB",
            "newrank": "true",
            "compound": "true",
            "splines": "spline",
            "nodesep": "0.3",
            "ranksep": "0.5",
            "fontname": "Helvetica",
            "fontsize": "13",
            "labelloc": "t",
            "labeljust": "l",
            "pad": "0.3",
            "bgcolor": "white",
            "label": html(title, [subtitle, "Generated from cdk.out by tools/report/diagram.py (make diagram); do not edit by hand."], size=11),
        },
        node={
            "shape": "box",
            "style": "rounded,filled",
            "fillcolor": "white",
            "color": "#2b4c7e",
            "fontname": "Helvetica",
            "fontsize": "12",
            "fontcolor": INK,
            "margin": "0.14,0.07",
        },
        edge={"color": "#5b6b82", "fontname": "Helvetica", "fontsize": "10", "fontcolor": MUTED, "arrowsize": "0.7"},
    )


def _account(graph: Graph, role: str, detail: str) -> Cluster:
    return graph.root.cluster(
        f"account-{role}",
        html(ACCOUNT_LABEL[role], [detail], size=10),
        style="rounded,dashed",
        color="#7a8aa3",
        fillcolor=FILL[role],
        penwidth="1.4",
        fontname="Helvetica",
        fontsize="14",
        fontcolor=INK,
    )


def _region(account: Cluster, role: str, region: str, labeljust: str = "l", labelloc: str = "t") -> Cluster:
    return account.cluster(
        f"region-{role}-{region}",
        html(region, [REGION_ROLE.get(role, {}).get(region, "")], size=10),
        style="rounded,filled",
        color="#9db4d0",
        fillcolor=REGION_FILL,
        fontname="Helvetica",
        fontsize="13",
        fontcolor="#2b4c7e",
        labeljust=labeljust,
        labelloc=labelloc,
    )


def _stack_node(cluster: Cluster, box: StackBox, lines: list[str] | None = None) -> str:
    return cluster.node(
        f"stack:{box.name}",
        label=html(box.name, lines if lines is not None else _summary(box)),
        tooltip=f"{box.name} ({box.region})",
        **{"class": _node_class(box.account_role, box.region, box.name)},
    )


def _tooling(graph: Graph) -> tuple[Cluster, list[str]]:
    region, replication = topology.tooling_regions()
    account = _account(
        graph, "tooling", "deploys both workload accounts (cdk deploy; they trust it at bootstrap). Drawn from stacks/config/pipeline.py"
    )
    home = _region(account, "tooling", region)
    pipeline = home.node(
        "pipeline",
        label=html(
            "MediVault-Pipeline",
            ["CodePipeline (CDK Pipelines)", f"CodeBuild: {TEST_COMMAND}, cdk synth", "Sandbox, manual approval, Production"],
        ),
        tooltip=f"MediVault-Pipeline ({region})",
        **{"class": _node_class("tooling", region, "MediVault-Pipeline")},
    )
    nodes = [pipeline]
    for other in replication:
        name = f"MediVault-Pipeline-Replication-{other}"
        nodes.append(
            _region(account, "tooling", other).node(
                f"replication-{other}",
                label=html(name, ["artifact bucket + key"]),
                tooltip=f"{name} ({other})",
                **{"class": _node_class("tooling", other, name)},
            )
        )
    return account, nodes


def architecture_source(topo: Topology, others: tuple[Topology, ...] = ()) -> str:
    """The DOT text of the architecture view (the traffic path, tiers x AZs, regions, accounts);
    ``others``: the other workload stages, which the subtitle compares with the drawn one."""
    compared = [f"{other.stage} stage, in its own workload account: {', '.join(topology.differences(topo, other))}" for other in others]
    graph = _graph(
        f"MediVault EU: the {topo.stage} stage as synthesized",
        "Red numbered arrows: a user's request. " + ". ".join(compared),
    )
    root = graph.root
    root.node(
        "user",
        label=html("Users", ["clinicians and patients", "browser, HTTPS"]),
        shape="box",
        style="rounded,filled",
        fillcolor="#fff7e0",
        **{"class": "internet"},
    )

    workload = _account(graph, "workload", f"{topo.stage} stage ({topo.stage}-* stacks)")
    edge = workload.cluster(
        "global-edge",
        html("global", ["AWS edge locations"], size=10),
        style="rounded,filled",
        color="#9db4d0",
        fillcolor=REGION_FILL,
        fontname="Helvetica",
        fontcolor="#2b4c7e",
        # The users' arrow comes in from above: the caption sits at the bottom, where no arrow runs.
        labelloc="b",
    )
    dns_lines = (
        [f"{topo.route53_records} alias records: name \u2192 CloudFront"]
        if topo.route53_records
        else ["alias A/AAAA \u2192 CloudFront", "(written when a domain is configured;", "this synth has none)"]
    )
    edge.node("route53", label=html("Route 53", dns_lines), **{"class": "account-workload region-global"})
    edge.body.append('{rank=same; "route53"; "cloudfront"}')
    edge.node(
        "cloudfront",
        label=html(
            "CloudFront + Shield Standard",
            [
                f"viewers: {topo.viewer_policy}",
                f"origin: {topo.origin_policy}",
                f"web ACL: {topo.waf_region} ({topo.waf_scope} scope)",
                f"stack {topo.distribution_stack}",
            ],
        ),
        tooltip=f"{topo.distribution_stack}: a global distribution",
        **{"class": f"account-workload region-global stack-{topo.distribution_stack}"},
    )

    # us-east-1 next to the edge it serves, then the primary and the DR region.
    order = sorted(topo.regions["workload"], key=lambda r: (r != "us-east-1", r != "eu-central-1", r))
    # The edge region's caption on the right: CloudFront's arrow to the web ACL comes in from the left.
    regions = {r: _region(workload, "workload", r, "r" if r == "us-east-1" else "l") for r in order}
    primary = regions["eu-central-1"]
    vpc = primary.cluster(
        "vpc",
        html(f"VPC {topo.vpc_cidr}", [f"three subnet tiers over {len(topo.azs)} AZs: {', '.join(topo.azs)}"], size=10),
        style="rounded,filled",
        color="#2b4c7e",
        fillcolor="#fafcff",
        fontname="Helvetica",
        fontcolor="#2b4c7e",
    )
    tiers: dict[str, Cluster] = {}
    rows: dict[str, list[str]] = {}
    for tier in TIERS:
        note = {"Public": "ALB and NAT only", "App": "no inbound from the internet", "Data": "no route to the internet"}[tier]
        tiers[tier] = vpc.cluster(
            f"tier-{tier}",
            html(f"{TIER_KIND[tier]} subnets", [note], size=10),
            style="rounded,filled",
            color="#b7c6da",
            fillcolor=TIER_FILL[tier],
            labeljust="r",  # the path enters each tier on its left, where the service boxes are
            fontname="Helvetica",
            fontcolor=INK,
        )
        rows[tier] = []
    region_class = "account-workload region-eu-central-1"
    alb = tiers["Public"].node(
        "alb",
        label=html(
            "Application Load Balancer",
            ["internet-facing, nodes in every public subnet", *topo.alb_listeners, *(f"ingress {i}" for i in topo.alb_ingress)],
        ),
        **{"class": f"{region_class} stack-{topo.stage}-App"},
    )
    public_ip = "public IP assigned" if topo.service_public_ip else "no public IP"
    db_tls = "TLS required" if topo.aurora_tls else "TLS optional"
    cache_tls = ("TLS required" if topo.cache_tls else "TLS optional") + (" + AUTH token" if topo.cache_auth else "")
    fargate = tiers["App"].node(
        "fargate",
        label=html("ECS on Fargate", [f"{topo.service_tasks} over {len(topo.azs)} AZs", f"container port {topo.container_port}", public_ip]),
        **{"class": f"{region_class} stack-{topo.stage}-App"},
    )
    # The interface endpoints' ENIs are in the app subnets (each app cell says so); the endpoint box
    # sits below them, level with the gateway endpoints, so no flat edge crosses the subnets.
    endpoints = vpc.node(
        "interface-endpoints",
        label=html(f"{len(topo.interface_endpoints)} interface endpoints", ["ENIs in the private app subnets", *_wrap(topo.interface_endpoints, 3)]),
        **{"class": f"{region_class} stack-{topo.stage}-Network"},
    )
    writer = next(az for role, az in topo.aurora if role == "writer")
    readers = [az for role, az in topo.aurora if role == "reader"]
    aurora = tiers["Data"].node(
        "aurora",
        label=html(
            "Aurora Serverless v2",
            [topo.aurora_engine, f"writer {writer}", *(f"reader {az}" for az in readers), f"{db_tls} :{topo.aurora_port}"],
        ),
        **{"class": f"{region_class} stack-{topo.stage}-Data"},
    )
    cache = tiers["Data"].node(
        "valkey",
        label=html(
            f"ElastiCache {topo.cache_engine.split()[0].capitalize()}",
            [topo.cache_engine, f"{len(topo.cache_azs)} nodes, Multi-AZ", f"{cache_tls} :{topo.cache_port}"],
        ),
        **{"class": f"{region_class} stack-{topo.stage}-Data"},
    )
    # A grid: one row per tier (the service first, then the subnets of each AZ in order), one column
    # per AZ; invisible edges keep the rows in order and the columns aligned.
    columns: dict[str, list[str]] = {}
    for tier, service_nodes in (("Public", [alb]), ("App", [fargate]), ("Data", [aurora, cache])):
        cells = []
        for subnet in topo.subnets_of(tier):
            cell = tiers[tier].node(
                f"subnet-{tier}-{subnet.az}",
                label=html(f"{subnet.az}", [subnet.cidr, *subnet.placed]),
                style="rounded,filled,dashed",
                fillcolor="white",
                color="#8aa0bd",
                fontsize="11",
                **{"class": f"{region_class} subnet tier-{tier} az-{subnet.az}"},
            )
            cells.append(cell)
            columns.setdefault(subnet.az, []).append(cell)
        rows[tier] = [service_nodes[0], *cells, *service_nodes[1:]]
        tiers[tier].body.append("{rank=same; " + "; ".join(f'"{n}"' for n in rows[tier]) + "}")
        for left, right in itertools.pairwise(rows[tier]):
            graph.add_edge(left, right, style="invis", weight="8")
    for column in [[alb, fargate, aurora], *columns.values()]:
        for upper, lower in itertools.pairwise(column):
            graph.add_edge(upper, lower, style="invis", weight="4")
    gateway = vpc.node(
        "gateway-endpoint",
        label=html("Gateway endpoints", [", ".join(topo.gateway_endpoints), "route-table targets"]),
        **{"class": f"{region_class} stack-{topo.stage}-Network"},
    )
    vpc.body.append(f'{{rank=same; "{aurora}"; "{gateway}"; "{endpoints}"}}')
    buckets = primary.node(
        "s3",
        label=html("S3 record buckets", [*(b.removesuffix("Bucket").lower() for b in topo.buckets), "SSE-KMS, Object Lock"]),
        **{"class": f"{region_class} stack-{topo.stage}-Data"},
    )
    keys = primary.node(
        "kms-secrets",
        label=html(
            "KMS keys + Secrets Manager",
            [f"{topo.kms_keys} customer keys ({topo.stage}-Keys)", f"{topo.secrets} secrets", f"rotated every {', '.join(topo.rotation) or 'never'}"],
        ),
        **{"class": f"{region_class} stack-{topo.stage}-Keys"},
    )

    # Every other workload stack in its region, so the view shows all of them where they deploy.
    supporting: dict[str, str] = {}
    for box in topo.stacks:
        if box.account_role != "workload" or box.name.endswith(PATH_STACK_SUFFIXES) or box.name.endswith("-Keys"):
            continue
        supporting[box.name] = _stack_node(regions[box.region], box)

    # The path, numbered.
    step = {"color": PATH, "fontcolor": PATH, "penwidth": "1.8"}
    graph.add_edge("user", "route53", label=" 1 DNS lookup", **step)
    graph.add_edge("user", "cloudfront", label=" 2 HTTPS", **step)
    waf = supporting.get(f"{topo.stage}-EdgeGlobal")
    if waf:
        graph.add_edge("cloudfront", waf, label=" 3 web ACL filters", style="dashed", dir="both", arrowtail="none", **step)
    graph.add_edge("cloudfront", alb, label=" 4 HTTPS + origin header", **step)
    graph.add_edge(alb, fargate, label=f" 5 HTTPS :{topo.container_port}", **step)
    graph.add_edge(fargate, aurora, label=" 6 SQL", **step)
    graph.add_edge(fargate, cache, label=" 6 sessions", **step)
    graph.add_edge(fargate, gateway, label=" 7 objects", **step)
    graph.add_edge(gateway, buckets, **step)
    graph.add_edge(fargate, endpoints, label=" 8 keys, secrets", **step)
    graph.add_edge(endpoints, keys, **step)
    backup, vault = supporting.get(f"{topo.stage}-Backup"), supporting.get(f"{topo.stage}-DrVault")
    if backup and vault:
        graph.add_edge(backup, vault, label=" daily copies", style="dashed")

    # Supporting stacks beside the tiers they watch, one per row; the DR region level with Backup.
    side = [supporting[n] for n in (f"{topo.stage}-Audit", f"{topo.stage}-Backup", f"{topo.stage}-Observability") if n in supporting]
    for anchor, node in zip((alb, fargate, aurora), side, strict=False):
        root.body.append(f'{{rank=same; "{anchor}"; "{node}"}}')
    for name, anchor in ((f"{topo.stage}-DrVault", fargate), (f"{topo.stage}-DetectionDr", alb), (f"{topo.stage}-DetectionEdge", alb)):
        if name in supporting:
            root.body.append(f'{{rank=same; "{anchor}"; "{supporting[name]}"}}')
    # The tooling and management accounts below the workload account.
    _, below = _tooling(graph)
    management = _account(graph, "management", "governs the workload accounts: SCPs, IAM Identity Center permission sets")
    for region in topo.regions.get("management", ()):
        cluster = _region(management, "management", region)
        for box in topo.stacks:
            if box.account_role == "management" and box.region == region:
                below.append(_stack_node(cluster, box))
    for node in below:
        graph.add_edge(buckets, node, style="invis")
    # No arrows from the tooling and management accounts: their captions say what they do, and an
    # arrow into a whole account box would cross the captions it should explain.
    return graph.source()


def _wrap(items: tuple[str, ...], per_line: int) -> list[str]:
    return [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]


def reduced(dependencies: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """The transitive reduction: (a, c) is left out when a needs b and b needs c. The deploy
    order it implies is the same, and a map with half the arrows can be read."""
    needs: dict[str, set[str]] = {}
    for tail, head in dependencies:
        needs.setdefault(tail, set()).add(head)

    def reachable(start: str, skip: tuple[str, str]) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            current = todo.pop()
            for nxt in sorted(needs.get(current, set())):
                if (current, nxt) != skip and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    return [(tail, head) for tail, head in dependencies if head not in reachable(tail, (tail, head))]


def stacks_source(topo: Topology) -> str:
    """The DOT text of the stack map: stacks in their account and region, arrows = dependencies."""
    graph = _graph(
        f"MediVault EU: the stacks of the {topo.stage} stage and the organisation",
        "Boxes: CloudFormation stacks in the account and region they deploy to. "
        "Arrows: stack X needs stack Y (a need already implied through another stack is not drawn again).",
    )
    graph.graph["rankdir"] = "LR"
    accounts: dict[str, Cluster] = {}
    regions: dict[tuple[str, str], Cluster] = {}
    for box in topo.stacks:
        role = box.account_role
        if role not in accounts:
            accounts[role] = _account(graph, role, f"{topo.stage} stage" if role == "workload" else "Organization stage")
        key = (role, box.region)
        if key not in regions:
            # The DR region sits below the primary in this map and its arrows come from above: its
            # caption goes to the bottom edge so that no arrow runs over it.
            loc = "b" if (role, box.region) == ("workload", "eu-west-1") else "t"
            regions[key] = _region(accounts[role], role, box.region, labelloc=loc)
        _stack_node(regions[key], box)
    _tooling(graph)
    for tail, head in reduced(topo.dependencies):
        graph.add_edge(f"stack:{tail}", f"stack:{head}")
    return graph.source()


def render(outdir: Path, stage: str = "Production") -> str:
    """The architecture view as SVG (docs/architecture.svg)."""
    drawn = topology.load(outdir, stage)
    return to_svg(architecture_source(drawn, tuple(topology.load(outdir, name) for name in drawn.other_stages)))


def render_stacks(outdir: Path, stage: str = "Production") -> str:
    """The stack map as SVG (docs/architecture-stacks.svg)."""
    return to_svg(stacks_source(topology.load(outdir, stage)))


def main(argv: list[str]) -> int:
    outdir = Path(argv[1] if len(argv) > 1 else "cdk.out")
    target = Path(argv[2] if len(argv) > 2 else "docs/architecture.svg")
    stacks_target = Path(argv[3]) if len(argv) > 3 else target.with_name(target.stem + "-stacks.svg")
    if not (outdir / "manifest.json").exists():
        print(f"diagram: no cloud assembly at {outdir}; run `make synth` first", file=sys.stderr)
        return 1
    try:
        pictures = {target: render(outdir), stacks_target: render_stacks(outdir)}
    except (GraphvizMissing, topology.TopologyError) as error:
        print(f"diagram: {error}", file=sys.stderr)
        return 1
    for path, svg in pictures.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(svg)
        print(f"diagram: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
