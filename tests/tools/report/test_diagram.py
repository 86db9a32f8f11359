"""The committed architecture pictures are generated from the app, current, and show what a reader needs.

docs/architecture.svg: the traffic path in order, the three subnet tiers over three AZs, each
region and each account, every box inside the account and region it deploys to.
docs/architecture-stacks.svg: every stack in its account and region, an arrow per dependency.
The SVG is Graphviz's: clusters are drawn as ``<g class="cluster">`` with their outline path, nodes
as ``<g class="node ...">`` with the classes tools/report/diagram.py gives them; containment is
checked on the drawn geometry, so a box drawn in the wrong region box fails here.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CONCRETE_ACCOUNTS, CONCRETE_ORGANIZATION_ACCOUNT, Synthesized
from tools.report import diagram, topology

# The diagram is reviewed with every change: it must show what the synth builds.
pytestmark = pytest.mark.requirements("R16")

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "docs" / "architecture.svg"
COMMITTED_STACKS = ROOT / "docs" / "architecture-stacks.svg"
SVG = "{http://www.w3.org/2000/svg}"
STALE = "is stale: run `make diagram` and commit docs/architecture.svg and docs/architecture-stacks.svg"


@dataclass(frozen=True)
class Shape:
    kind: str  # node / edge / cluster
    name: str  # the Graphviz title: node name, "tail->head", cluster_<id>
    classes: tuple[str, ...]
    texts: tuple[str, ...]
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 of the drawn outline

    def inside(self, other: Shape) -> bool:
        x0, y0, x1, y1 = self.box
        a0, b0, a1, b1 = other.box
        return a0 <= x0 and b0 <= y0 and x1 <= a1 and y1 <= b1


def _box(group: ET.Element) -> tuple[float, float, float, float]:
    outline = next((e for e in group.iter() if e.tag in (f"{SVG}path", f"{SVG}polygon")), None)
    raw = (outline.get("d") or outline.get("points") or "") if outline is not None else ""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", raw)]
    xs, ys = numbers[0::2], numbers[1::2]
    return (min(xs), min(ys), max(xs), max(ys)) if xs else (0.0, 0.0, 0.0, 0.0)


def shapes(svg: str) -> list[Shape]:
    root = ET.fromstring(svg)  # noqa: S314 - our own generated SVG, not untrusted input
    found = []
    for group in root.iter(f"{SVG}g"):
        classes = tuple((group.get("class") or "").split())
        if not classes or classes[0] not in ("node", "edge", "cluster"):
            continue
        title = group.find(f"{SVG}title")
        texts = tuple((t.text or "").strip() for t in group.iter(f"{SVG}text"))
        found.append(Shape(classes[0], (title.text or "") if title is not None else "", classes[1:], texts, _box(group)))
    return found


def _curve(group: ET.Element) -> list[tuple[float, float]]:
    """Points along an edge's drawn spline (Graphviz writes ``M p0 C p1 p2 p3 p4 p5 p6 ...``)."""
    path = group.find(f"{SVG}path")
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d") or "")] if path is not None else []
    points = list(zip(numbers[0::2], numbers[1::2], strict=False))
    sampled = []
    for i in range(0, len(points) - 3, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points[i : i + 4]
        for step in range(11):
            t = step / 10
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
            sampled.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return sampled


def _captions(group: ET.Element) -> list[tuple[float, float, float, float]]:
    """Approximate boxes of a cluster's caption lines (Helvetica: about 0.55 em per character)."""
    boxes = []
    for text in group.iter(f"{SVG}text"):
        size = float(text.get("font-size") or 10)
        x, y, width = float(text.get("x") or 0), float(text.get("y") or 0), len(text.text or "") * size * 0.55
        left = x - width / 2 if text.get("text-anchor") == "middle" else x
        boxes.append((left, y - size, left + width, y + 2))
    return boxes


def crossings(svg: str) -> list[str]:
    """Arrows drawn over a box they do not connect, over a caption, or through a region, VPC or tier
    box that holds neither of their ends: what a reader reads as a wrong connection."""
    root = ET.fromstring(svg)  # noqa: S314 - our own generated SVG, not untrusted input
    found = shapes(svg)
    nodes = {s.name: s for s in found if s.kind == "node"}
    areas = [s for s in found if s.kind == "cluster" and s.name.startswith(("cluster_region-", "cluster_tier-", "cluster_vpc", "cluster_global"))]
    captions = [(g.findtext(f"{SVG}title"), box) for g in root.iter(f"{SVG}g") if g.get("class") == "cluster" for box in _captions(g)]
    problems = []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") != "edge":
            continue
        name = group.findtext(f"{SVG}title") or ""
        tail, head = (nodes.get(n) for n in name.split("->"))
        ends = [e for e in (tail, head) if e is not None]
        points = _curve(group)[2:-2]  # leave the ends, which touch their own boxes
        for node in nodes.values():
            if node in ends:
                continue
            x0, y0, x1, y1 = node.box
            if any(x0 + 2 < x < x1 - 2 and y0 + 2 < y < y1 - 2 for x, y in points):
                problems.append(f"{name} runs over box {node.name}")
        for area in areas:
            if any(end.inside(area) for end in ends):
                continue
            x0, y0, x1, y1 = area.box
            if any(x0 < x < x1 and y0 < y < y1 for x, y in points):
                problems.append(f"{name} runs through {area.name}, which holds neither end")
        for cluster, (x0, y0, x1, y1) in captions:
            if any(x0 < x < x1 and y0 < y < y1 for x, y in points):
                problems.append(f"{name} runs over the caption of {cluster}")
    return sorted(set(problems))


def semantic(svg: str) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """What the picture says, without where Graphviz put it (coordinates differ between its versions)."""
    return [(s.kind, s.name, s.classes, s.texts) for s in shapes(svg)]


def _version(svg: str) -> str:
    match = re.search(r"Generated by graphviz version ([^\n]+)", svg)
    return match.group(1).strip() if match else ""


@pytest.fixture(scope="module")
def pictures(synth: Synthesized) -> tuple[str, str]:
    return diagram.render(synth.outdir), diagram.render_stacks(synth.outdir)


def test_committed_pictures_match_the_synthesized_app(pictures: tuple[str, str]) -> None:
    """Same Graphviz version: byte-identical. Another version lays out differently, so then the
    nodes, edges, clusters, their classes and every text must still be the same."""
    for committed, regenerated in zip((COMMITTED, COMMITTED_STACKS), pictures, strict=True):
        text = committed.read_text()
        if _version(text) == _version(regenerated):
            assert text == regenerated, f"{committed.name} {STALE}"
        else:
            assert semantic(text) == semantic(regenerated), f"{committed.name} {STALE}"


def test_pictures_are_deterministic_and_free_of_accounts(synth: Synthesized, pictures: tuple[str, str]) -> None:
    topo = topology.load(synth.outdir)
    assert diagram.architecture_source(topo) == diagram.architecture_source(topology.load(synth.outdir))
    assert diagram.render(synth.outdir) == pictures[0]
    for svg in pictures:
        for account in [*CONCRETE_ACCOUNTS.values(), CONCRETE_ORGANIZATION_ACCOUNT]:
            assert account not in svg
        assert "Sandbox-" not in svg


def test_cloudfront_is_drawn_with_its_own_web_acl(synth: Synthesized) -> None:
    """The stage has two web ACLs since the Identity stack (the user pool's is REGIONAL, in eu-central-1):
    the traffic path must show the one CloudFront uses (CLOUDFRONT scope, us-east-1)."""
    topo = topology.load(synth.outdir)
    assert (topo.waf_scope, topo.waf_region) == ("CLOUDFRONT", "us-east-1")


def _named(found: list[Shape], kind: str) -> dict[str, Shape]:
    return {s.name: s for s in found if s.kind == kind}


def test_subtitle_says_how_the_sandbox_differs(synth: Synthesized, pictures: tuple[str, str]) -> None:
    cache = next(iter(synth.template("sandbox", "data").find_resources("AWS::ElastiCache::ReplicationGroup").values()))
    scaling = next(iter(synth.template("sandbox", "app").find_resources("AWS::ApplicationAutoScaling::ScalableTarget").values()))
    texts = [t.text or "" for t in ET.fromstring(pictures[0]).iter(f"{SVG}text")]  # noqa: S314 - our own SVG
    line = next(t for t in texts if t.startswith("Red numbered arrows"))
    assert "Sandbox stage, in its own workload account: the same stacks" in line
    assert f"{len(cache['Properties']['PreferredCacheClusterAZs'])} cache node(s)" in line
    assert f"{scaling['Properties']['MinCapacity']}\u2013{scaling['Properties']['MaxCapacity']} tasks" in line


def test_the_traffic_path_is_drawn_in_order(pictures: tuple[str, str]) -> None:
    found = shapes(pictures[0])
    nodes, edges = _named(found, "node"), _named(found, "edge")
    path = [
        ("user", "route53", "1"),
        ("user", "cloudfront", "2"),
        ("cloudfront", "stack:Production-EdgeGlobal", "3"),
        ("cloudfront", "alb", "4"),
        ("alb", "fargate", "5"),
        ("fargate", "aurora", "6"),
        ("fargate", "valkey", "6"),
        ("fargate", "gateway-endpoint", "7"),
        ("fargate", "interface-endpoints", "8"),
    ]
    for tail, head, number in path:
        edge = edges.get(f"{tail}->{head}")
        assert edge is not None, f"no arrow {tail} -> {head}"
        assert edge.texts and edge.texts[0].split()[0] == number, (tail, head, edge.texts)
    assert "gateway-endpoint->s3" in edges and "interface-endpoints->kms-secrets" in edges
    expected = {
        "route53": "Route 53",
        "cloudfront": "CloudFront + Shield Standard",
        "stack:Production-EdgeGlobal": "Production-EdgeGlobal",
        "alb": "Application Load Balancer",
        "fargate": "ECS on Fargate",
        "aurora": "Aurora Serverless v2",
        "valkey": "ElastiCache Valkey",
        "gateway-endpoint": "Gateway endpoints",
        "s3": "S3 record buckets",
        "kms-secrets": "KMS keys + Secrets Manager",
    }
    for name, title in expected.items():
        assert nodes[name].texts[0] == title
    assert "1 WAF web ACL" in nodes["stack:Production-EdgeGlobal"].texts
    assert any("S3" in t for t in nodes["gateway-endpoint"].texts)
    endpoints = " ".join(nodes["interface-endpoints"].texts)
    assert "KMS" in endpoints and "Secrets Manager" in endpoints
    aurora = nodes["aurora"].texts
    assert "writer eu-central-1a" in aurora and "reader eu-central-1b" in aurora  # from the DBInstances' AZs
    # Top to bottom, as a request travels (SVG y grows downwards).
    order = ["user", "cloudfront", "alb", "fargate", "aurora"]
    tops = [nodes[n].box[1] for n in order]
    assert tops == sorted(tops), dict(zip(order, tops, strict=True))


def test_three_tiers_over_three_azs_with_what_runs_there(synth: Synthesized, pictures: tuple[str, str]) -> None:
    found = shapes(pictures[0])
    nodes, clusters = _named(found, "node"), _named(found, "cluster")
    subnets = synth.template("production", "network").find_resources("AWS::EC2::Subnet")
    assert len(subnets) == 9
    azs = sorted({s["Properties"]["AvailabilityZone"] for s in subnets.values()})
    assert azs == ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
    vpc, region = clusters["cluster_vpc"], clusters["cluster_region-workload-eu-central-1"]
    for resource in subnets.values():
        props = resource["Properties"]
        tier = next(t["Value"] for t in props["Tags"] if t["Key"] == "aws-cdk:subnet-name")
        cell = nodes[f"subnet-{tier}-{props['AvailabilityZone']}"]
        assert cell.texts[:2] == (props["AvailabilityZone"], props["CidrBlock"])
        assert cell.inside(clusters[f"cluster_tier-{tier}"]) and cell.inside(vpc) and cell.inside(region)
        for other in {"Public", "App", "Data"} - {tier}:
            assert not cell.inside(clusters[f"cluster_tier-{other}"])
    placed = (("Public", "eu-central-1a", "ALB node"), ("App", "eu-central-1c", "Fargate tasks"), ("Data", "eu-central-1a", "Aurora writer"))
    for tier, az, thing in placed:
        assert thing in nodes[f"subnet-{tier}-{az}"].texts
    assert "Aurora reader" in nodes["subnet-Data-eu-central-1b"].texts
    for name, tier in (("alb", "Public"), ("fargate", "App"), ("aurora", "Data"), ("valkey", "Data")):
        assert nodes[name].inside(clusters[f"cluster_tier-{tier}"]), name
    # Columns: each AZ's three cells are stacked, tiers in order from the internet inwards.
    for az in azs:
        cells = [nodes[f"subnet-{t}-{az}"].box for t in ("Public", "App", "Data")]
        assert cells[0][1] < cells[1][1] < cells[2][1]
        centres = [(b[0] + b[2]) / 2 for b in cells]
        assert max(centres) - min(centres) < 40, (az, centres)


def test_every_box_is_in_its_own_account_and_region(synth: Synthesized, pictures: tuple[str, str]) -> None:
    """Each stack's box lies inside the cluster of the account and region the manifest deploys it to,
    and inside no other region or account box (the management stacks are not in a workload region)."""
    from tools.assembly import stacks

    deployed = {s.name: s.region for s in stacks(synth.outdir) if s.stage in ("assembly-Production", "assembly-Organization")}
    for svg in pictures:
        found = shapes(svg)
        clusters = _named(found, "cluster")
        regions = {n: c for n, c in clusters.items() if n.startswith("cluster_region-")}
        accounts = {n: c for n, c in clusters.items() if n.startswith("cluster_account-")}
        assert set(accounts) == {"cluster_account-workload", "cluster_account-tooling", "cluster_account-management"}
        checked = set()
        for node in (s for s in found if s.kind == "node"):
            tags = dict(c.split("-", 1) for c in node.classes if c.startswith(("account-", "region-", "stack-")))
            if "account" not in tags:
                continue
            account, region = tags["account"], tags["region"]
            if "stack" in tags and tags["stack"] in deployed and region != "global":
                assert deployed[tags["stack"]] == region, (node.name, region)
                checked.add(tags["stack"])
            assert [n for n, c in accounts.items() if node.inside(c)] == [f"cluster_account-{account}"], node.name
            inside = [n for n, c in regions.items() if node.inside(c)]
            assert inside == ([] if region == "global" else [f"cluster_region-{account}-{region}"]), (node.name, inside)
        assert {"Organization-Guardrails", "Organization-IdentityCenter", "Production-DrVault", "Production-EdgeGlobal"} <= checked
    names = {s.texts[0] for s in shapes(pictures[0]) if s.kind == "cluster"}
    assert {"Workload account", "Tooling account (delivery pipeline)", "Management account (organisation)", "global"} <= names
    assert {"eu-central-1", "eu-west-1", "us-east-1"} <= names


def test_no_arrow_runs_behind_a_box_or_a_caption(pictures: tuple[str, str]) -> None:
    for svg in pictures:
        assert crossings(svg) == []


def test_stack_map_shows_every_production_stack_and_dependency(synth: Synthesized, pictures: tuple[str, str]) -> None:
    found = shapes(pictures[1])
    stage = synth.stages["production"]
    names = sorted(s.stack_name for s in stage.node.children if hasattr(s, "stack_name"))
    drawn = {s.texts[0] for s in found if s.kind == "node"}
    assert names and set(names) <= drawn
    assert {"Organization-Guardrails", "Organization-IdentityCenter", "MediVault-Pipeline"} <= drawn
    dependencies = {(s.stack_name, d.stack_name) for s in stage.node.children if hasattr(s, "dependencies") for d in s.dependencies}
    arrows = {tuple(s.name.removeprefix("stack:").split("->stack:")) for s in found if s.kind == "edge"}
    # Only real dependencies are drawn, and every dependency is drawn or implied by a chain of arrows.
    assert arrows <= dependencies and len(arrows) >= 1
    assert _closure(arrows) == _closure(dependencies)
    assert ("Production-Audit", "Production-Keys") in dependencies and ("Production-Audit", "Production-Keys") not in arrows


def _closure(edges: set[tuple[str, ...]]) -> set[tuple[str, ...]]:
    closed = set(edges)
    while True:
        more = {(a, d) for a, b in closed for c, d in closed if b == c} - closed
        if not more:
            return closed
        closed |= more


def test_graphviz_is_installed_by_the_makefile() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^diagram-deps:\n(?:\t.*\n)*\t.*apt-get install .*graphviz", makefile, re.MULTILINE)
    assert re.search(r"^unit: .*diagram-deps", makefile, re.MULTILINE) and re.search(r"^synth: .*diagram-deps", makefile, re.MULTILINE)
    assert subprocess.run(["dot", "-V"], capture_output=True, check=False).returncode == 0


def test_readme_shows_the_diagram_and_links_the_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "](docs/architecture.svg)" in readme and "](docs/architecture-stacks.svg)" in readme
    assert "](docs/requirements.md)" in readme
    assert "](docs/well-architected.md)" in readme
    assert "make report" in readme and "make diagram" in readme


def test_requirements_doc_lists_r1_to_r16_as_in_the_code() -> None:
    from constructs.traceability import REQUIREMENTS

    text = (ROOT / "docs" / "requirements.md").read_text()
    for rid in REQUIREMENTS:
        assert f"\n| {rid} |" in text, rid


def test_an_assembly_without_the_traffic_path_fails_with_a_clear_error(tmp_path: Path) -> None:
    """A stage without a load balancer cannot be drawn: the error names the missing resource type."""
    import aws_cdk as cdk
    from aws_cdk import aws_ec2 as ec2

    app = cdk.App(outdir=str(tmp_path))
    stage = cdk.Stage(app, "Production")
    stack = cdk.Stack(stage, "Network", env=cdk.Environment(account="111111111111", region="eu-central-1"))
    isolated = ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0, subnet_configuration=[isolated])
    app.synth()
    with pytest.raises(topology.TopologyError, match=r"no AWS::ElasticLoadBalancingV2::LoadBalancer \(the load balancer\)"):
        topology.load(tmp_path)
    assert diagram.main(["diagram", str(tmp_path), str(tmp_path / "a.svg")]) == 1
    assert not (tmp_path / "a.svg").exists()


def test_a_missing_graphviz_is_named_with_the_make_target(monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.report import dot

    monkeypatch.setattr(dot.shutil, "which", lambda _: None)
    with pytest.raises(dot.GraphvizMissing, match="make diagram-deps"):
        dot.to_svg("digraph {}")
