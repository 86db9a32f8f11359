"""Architecture diagram of the synthesized app as a self-contained SVG, written in pure Python.

Why not graphviz/diagrams/cdk-dia: each needs a native binary (graphviz ``dot``) or Node tooling
the project would have to install and pin, and their layouts change between versions, which would
make the "is the committed diagram current?" check flaky. This writer lays out one column per
region, one box per CloudFormation stack (the resource types it holds, with counts, and the
requirements traced to it) and an arrow per stack dependency, with stable ordering and no
timestamps: the same assembly always gives byte-identical output.

Usage: python -m tools.report.diagram [cdk.out] [docs/architecture.svg]   (``make diagram``)
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from html import escape
from pathlib import Path

from tools.report.model import Assembly, load, requirement_order, stage_name

DEFAULT_EXCLUDED_STAGES = ("Sandbox",)  # the sandbox is the same shape with fewer AZ placements
REGION_ORDER = ("eu-central-1", "eu-west-1", "us-east-1")
REGION_ROLE = {"eu-central-1": "primary, three AZs", "eu-west-1": "disaster recovery copies", "us-east-1": "edge only: WAF, certificate"}
# Plumbing the reader does not need to see.
HIDDEN_PREFIXES = ("AWS::CDK::", "Custom::", "AWS::CloudFormation::")
FRIENDLY = {
    "AWS::EC2::VPC": "VPC",
    "AWS::EC2::Subnet": "subnet",
    "AWS::EC2::NatGateway": "NAT gateway",
    "AWS::EC2::VPCEndpoint": "VPC endpoint",
    "AWS::EC2::SecurityGroup": "security group",
    "AWS::EC2::NetworkAcl": "network ACL",
    "AWS::EC2::FlowLog": "flow log",
    "AWS::EC2::InternetGateway": "internet gateway",
    "AWS::KMS::Key": "KMS key",
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::RDS::DBCluster": "Aurora cluster",
    "AWS::RDS::DBInstance": "Aurora instance",
    "AWS::ElastiCache::ReplicationGroup": "Redis/Valkey group",
    "AWS::ElastiCache::ServerlessCache": "serverless cache",
    "AWS::ECS::Service": "Fargate service",
    "AWS::ECS::Cluster": "ECS cluster",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load balancer",
    "AWS::CloudFront::Distribution": "CloudFront distribution",
    "AWS::WAFv2::WebACL": "WAF web ACL",
    "AWS::SecretsManager::Secret": "secret",
    "AWS::CloudTrail::Trail": "CloudTrail trail",
    "AWS::Config::ConfigRule": "Config rule",
    "AWS::GuardDuty::Detector": "GuardDuty detector",
    "AWS::Macie::Session": "Macie session",
    "AWS::Backup::BackupVault": "backup vault",
    "AWS::Backup::BackupPlan": "backup plan",
    "AWS::Lambda::Function": "Lambda function",
    "AWS::Logs::LogGroup": "log group",
    "AWS::SNS::Topic": "SNS topic",
    "AWS::CloudWatch::Alarm": "CloudWatch alarm",
    "AWS::IAM::Role": "IAM role",
}
MAX_LINES = 9
BOX_W, COL_GAP, MARGIN, TOP = 300, 70, 24, 96
BOXES_PER_SUBCOLUMN = 4  # a region with more stacks gets another column of boxes
BOX_PAD, LINE_H, BOX_GAP = 12, 17, 28


@dataclass(frozen=True)
class _Box:
    stack: str
    region: str
    lines: tuple[str, ...]
    requirements: tuple[str, ...]

    @property
    def height(self) -> int:
        return 30 + LINE_H * len(self.lines) + (LINE_H + 4 if self.requirements else 0) + BOX_PAD


def _label(resource_type: str) -> str:
    if resource_type in FRIENDLY:
        return FRIENDLY[resource_type]
    _, service, kind = [*resource_type.split("::"), "", ""][:3]
    return f"{service} {kind}".strip()


def _shown(stage: str, excluded: tuple[str, ...]) -> bool:
    """Stages drawn: not the excluded ones, and not the delivery pipeline's own copies of the
    environment stages (``Pipeline-*``: the same deployments) nor top-level stacks (the pipeline,
    which ``-c pipeline=false`` leaves out, so the picture does not depend on that switch)."""
    return bool(stage) and not stage.startswith("Pipeline") and stage.rsplit("-", 1)[-1] not in excluded


def _boxes(assembly: Assembly, excluded: tuple[str, ...]) -> list[_Box]:
    boxes = []
    for stack in assembly.stacks:
        stage = stage_name(stack.stage)
        if not _shown(stage, excluded):
            continue
        resources = [r for r in assembly.resources if r.stack == stack.name and r.stage == stage]
        counts = Counter(r.type for r in resources if not r.type.startswith(HIDDEN_PREFIXES))
        known = [t for t in FRIENDLY if t in counts]
        others = sorted(t for t in counts if t not in FRIENDLY)
        ordered = known + others
        lines = [f"{counts[t]} \u00d7 {_label(t)}" for t in ordered[:MAX_LINES]]
        if len(ordered) > MAX_LINES:
            lines.append(f"+ {len(ordered) - MAX_LINES} more resource types")
        requirements = sorted({rid for r in resources for rid in r.requirements}, key=requirement_order)
        boxes.append(_Box(stack.name, stack.region, tuple(lines), tuple(requirements)))
    return boxes


def render(outdir: Path, *, excluded_stages: tuple[str, ...] = DEFAULT_EXCLUDED_STAGES) -> str:
    assembly = load(outdir)
    boxes = _boxes(assembly, excluded_stages)
    # The three regions of R1 are always drawn, so an empty one shows what is not built yet.
    regions = list(REGION_ORDER) + sorted({b.region for b in boxes} - set(REGION_ORDER))
    positions: dict[str, tuple[int, int, int, int]] = {}
    columns: list[tuple[str, int, int]] = []  # (region, x, width)
    bottoms = [TOP + 60]
    x = MARGIN
    for region in regions:
        members = [b for b in boxes if b.region == region]
        subcolumns = max(1, -(-len(members) // BOXES_PER_SUBCOLUMN))
        width = 60 + subcolumns * BOX_W + (subcolumns - 1) * 40
        for index, box in enumerate(members):
            sub, row = divmod(index, BOXES_PER_SUBCOLUMN)
            if row == 0:
                y = TOP + 44
            positions[box.stack] = (x + 30 + sub * (BOX_W + 40), y, BOX_W, box.height)
            y += box.height + BOX_GAP
            bottoms.append(y)
        columns.append((region, x, width))
        x += width + COL_GAP
    width = x - COL_GAP + MARGIN
    height = max(bottoms) + 40
    stages = sorted({r.stage for r in assembly.resources if _shown(r.stage, excluded_stages)})
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="13">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#5b6b82"/></marker></defs>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{MARGIN}" y="34" font-size="20" font-weight="bold" fill="#1d2633">'
        f"MediVault EU: {escape(', '.join(stages) or 'app')} as synthesized</text>",
        f'<text x="{MARGIN}" y="58" fill="#4a5568">Boxes: CloudFormation stacks with the resource types they hold '
        "and the requirements traced to them. "
        "Arrows: stack dependencies.</text>",
        f'<text x="{MARGIN}" y="76" fill="#4a5568">Generated from cdk.out by tools/report/diagram.py (make diagram); do not edit by hand.</text>',
    ]
    for region, x, column_width in columns:
        out.append(
            f'<rect x="{x}" y="{TOP}" width="{column_width}" height="{height - TOP - 16}" rx="10" '
            'fill="#f2f6fb" stroke="#9db4d0" stroke-dasharray="6 4"/>'
        )
        role = REGION_ROLE.get(region, "")
        out.append(f'<text x="{x + 14}" y="{TOP + 24}" font-weight="bold" fill="#2b4c7e">{escape(region)}</text>')
        out.append(f'<text x="{x + 124}" y="{TOP + 24}" fill="#2b4c7e">{escape(role)}</text>')
        if not any(b.region == region for b in boxes):
            out.append(f'<text x="{x + 30}" y="{TOP + 70}" font-style="italic" fill="#718096">no stack in this region yet</text>')
    for stack in sorted(assembly.dependencies):
        if stack not in positions:
            continue
        for target in assembly.dependencies[stack]:
            if target in positions:
                out.append(_arrow(positions[stack], positions[target]))
    for box in boxes:
        x, y, w, h = positions[box.stack]
        out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="#ffffff" stroke="#2b4c7e" stroke-width="1.5"/>')
        out.append(f'<text x="{x + BOX_PAD}" y="{y + 21}" font-size="15" font-weight="bold" fill="#1d2633">{escape(box.stack)}</text>')
        ty = y + 21 + LINE_H + 2
        for line in box.lines:
            out.append(f'<text x="{x + BOX_PAD}" y="{ty}" fill="#2d3748">{escape(line)}</text>')
            ty += LINE_H
        if box.requirements:
            out.append(f'<text x="{x + BOX_PAD}" y="{ty + 4}" font-weight="bold" fill="#8a4b08">traced: {escape(" ".join(box.requirements))}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _arrow(source: tuple[int, int, int, int], target: tuple[int, int, int, int]) -> str:
    """A dashed curve from the dependent stack to the stack it needs."""
    sx, sy, sw, sh = source
    tx, ty, tw, th = target
    if sx == tx:  # same column: bow out to the left of the boxes
        x1, y1, x2, y2 = sx, sy + sh // 2, tx, ty + th // 2
        bend = 24 + min(abs(y2 - y1) // 10, 30)
        path = f"M{x1},{y1} C{x1 - bend},{y1} {x2 - bend},{y2} {x2},{y2}"
    else:
        left_to_right = sx < tx
        x1 = sx + sw if left_to_right else sx
        x2 = tx if left_to_right else tx + tw
        y1, y2 = sy + sh // 2, ty + th // 2
        mid = (x1 + x2) // 2
        path = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
    return f'<path d="{path}" fill="none" stroke="#5b6b82" stroke-width="1.4" stroke-dasharray="5 3" marker-end="url(#arrow)"/>'


def main(argv: list[str]) -> int:
    outdir = Path(argv[1] if len(argv) > 1 else "cdk.out")
    target = Path(argv[2] if len(argv) > 2 else "docs/architecture.svg")
    if not (outdir / "manifest.json").exists():
        print(f"diagram: no cloud assembly at {outdir}; run `make synth` first", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(outdir))
    print(f"diagram: wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
