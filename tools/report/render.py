"""Render a Report as a self-contained HTML page and as Markdown (Jinja2 templates in
``tools/report/templates/``), and as JSON (for tools and tests).

Figures are rounded to what their inputs justify: the prices were typed by hand and the volumes are
assumptions, so money is shown to three significant digits (whole dollars below $100); the JSON
keeps the unrounded values.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import jinja2

from tools.report import status
from tools.report.build import Report, RequirementRow
from tools.report.cost import price_rows as cost_price_rows
from tools.report.model import GATE_PACKS, Resource

TITLE = "MediVault EU: requirements, compliance and cost report"
TEMPLATES = Path(__file__).resolve().parent / "templates"
GATE_NOTE = (
    "Gate PASSED on a requirement means every rule of both cdk-nag packs (and CloudFormation validation) that applies to its "
    "resources found nothing unacknowledged: cdk-nag v3 reports violations only, so the rules that passed are not listed one by one."
)
ROUNDING_NOTE = (
    "Money is rounded to three significant digits (whole dollars below $100): the prices were typed by hand and the volumes are "
    "assumptions, so more digits would claim a precision the inputs do not have. report.json keeps the unrounded values."
)


def significant(value: float, digits: int = 3) -> float:
    if value == 0:
        return 0.0
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def money(value: float) -> str:
    """``$2,170`` for 2166.66, ``$34`` for 34.4, ``$0.40`` for 0.4, ``$0`` for 0."""
    if value == 0:
        return "$0"
    if abs(value) < 1:
        return f"${value:.2f}"
    if abs(value) < 100:
        return f"${round(value):,}"
    return f"${significant(value):,.0f}"


def quantity(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{significant(value):,g}"


def anchor(text: str) -> str:
    """An id for ``text``: lower case, runs of other characters as one dash."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(money=money, quantity=quantity, anchor=anchor, md=_esc_md)
    return env


def _esc_md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def gate_line(report: Report) -> str:
    a = report.assembly
    if a.gate_passed:
        acks = sum(len(r.acknowledged) for r in a.resources)
        return (
            f"PASSED: {', '.join(GATE_PACKS)} and CloudFormation validation found no unacknowledged finding; "
            f"{acks} acknowledged finding(s) under {len(report.findings)} rule(s), each with its reason."
        )
    return f"FAILED: {len(a.gate_violations)} unacknowledged finding(s); see validation-report.json."


def per_stack(resources: tuple[Resource, ...]) -> list[tuple[str, int, str]]:
    """(deployment, resources, the most common types with counts) for a requirement's resources."""
    groups: dict[str, list[Resource]] = {}
    for r in resources:
        groups.setdefault(r.display_name, []).append(r)
    rows = []
    for name, items in groups.items():
        types = Counter(r.type.removeprefix("AWS::") for r in items).most_common()
        shown = ", ".join(f"{t} x{n}" if n > 1 else t for t, n in types[:6]) + (f", {len(types) - 6} more types" if len(types) > 6 else "")
        rows.append((name, len(items), shown))
    return rows


def rule_counts(row: RequirementRow) -> list[tuple[str, int]]:
    return Counter(rule for _, rule, _ in row.acknowledged).most_common()


def _context(report: Report, diagram_svg: str = "") -> dict[str, Any]:
    a = report.assembly
    copies = a.artifacts - len(a.deployments)
    sections = [("summary", "Summary"), ("requirements", "Requirements"), ("findings", "Acknowledged findings by rule")]
    sections += [("pillars", "Well-Architected pillars"), ("deployments", "Deployments"), ("cost", "Monthly cost estimate")]
    if diagram_svg:
        sections.append(("architecture", "Architecture"))
    return {
        "title": TITLE,
        "report": report,
        "assembly": a,
        "copies": copies,
        "delivered": sum(1 for d in a.deployments if d.delivered_by),
        "gate_line": gate_line(report),
        "gate_note": GATE_NOTE,
        "rounding_note": ROUNDING_NOTE,
        "not_deployed": status.NOT_DEPLOYED,
        "statuses": status.STATUSES,
        "counts": report.counts(),
        "sections": sections,
        "per_stack": per_stack,
        "rule_counts": rule_counts,
        "service_totals": service_totals(report),
        "price_rows": price_rows(report.prices),
        "diagram_svg": diagram_svg,
        "css": (TEMPLATES / "report.css").read_text(),
    }


def html_page(report: Report, diagram_svg: str = "") -> str:
    return _environment().get_template("report.html").render(_context(report, diagram_svg))


def markdown(report: Report) -> str:
    return _environment().get_template("report.md").render(_context(report))


def service_totals(report: Report) -> list[tuple[str, list[float]]]:
    """Per service, the monthly amount in each stage (0 where a stage has none), in first-seen order."""
    services = list(dict.fromkeys(line.service for e in report.estimates for line in e.lines))
    return [(service, [e.by_service().get(service, 0.0) for e in report.estimates]) for service in services]


def price_rows(prices: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(key, price, unit, source with the date it was entered and how) per price (cost.price_rows)."""
    return [(key, usd, unit, f"{source}, {dated}") for key, usd, unit, source, dated in cost_price_rows(prices)]


# --- JSON -----------------------------------------------------------------------------------------


def as_json(report: Report) -> dict[str, Any]:
    a = report.assembly
    return {
        "gate": {"passed": a.gate_passed, "violations": [list(v) for v in a.gate_violations]},
        "deployments": [
            {
                "deploy_as": d.display_name,
                "stack": d.name,
                "account": d.stack.account,
                "region": d.stack.region,
                "resources": len(d.stack.resources()),
                "delivered_by": list(d.delivered_by),
                "copies": [c.display_name for c in d.copies],
            }
            for d in a.deployments
        ],
        "gaps": list(report.gaps),
        "contradicted": list(report.contradicted),
        "requirements": {
            row.id: {
                "need": row.need,
                "status": row.status,
                "why": row.claim.why,
                "missing": list(row.claim.missing),
                "process": list(row.claim.process),
                "unverified": list(row.claim.unverified),
                "evidence": {kind: n for kind, n in row.evidence},
                "contradictions": list(row.contradictions),
                "gate": row.gate,
                "pillars": list(row.pillars),
                "resources": [
                    {
                        "stage": r.stage,
                        "stack": r.stack,
                        "deploy_as": r.display_name,
                        "path": r.where,
                        "logical_id": r.logical_id,
                        "type": r.type,
                        "acknowledged": [{"id": rule, "reason": reason} for rule, reason in r.acknowledged],
                        "violations": list(r.violations),
                    }
                    for r in row.resources
                ],
                "how": [{"why": w, "constructs": list(paths)} for w, paths in row.whys],
                "tests": [{"path": t.path, "tests": t.tests} for t in row.tests],
            }
            for row in report.requirements
        },
        "findings": {
            f.rule: {"resources": len(f.resources), "stacks": list(f.stacks), "reasons": [{"reason": r, "resources": n} for r, n in f.reasons]}
            for f in report.findings
        },
        "pillars": {
            p.pillar: {"requirements": list(p.requirements), "resources": p.resources, "why": [{"why": w, "constructs": list(c)} for w, c in p.whys]}
            for p in report.pillars
        },
        "costs": {
            e.stage: {
                "environment": e.environment,
                "total_usd": e.total,
                "lines": [
                    {
                        "service": x.service,
                        "item": x.item,
                        "quantity": x.quantity,
                        "unit": x.unit,
                        "unit_price": x.unit_price,
                        "monthly_usd": x.monthly,
                        "basis": x.basis,
                    }
                    for x in e.lines
                ],
                "not_estimated": e.not_estimated,
                "unpriced": e.unpriced,
                "assumptions": {k.key: {"value": k.value, "unit": k.unit, "why": k.why} for k in e.assumptions.values()},
            }
            for e in report.estimates
        },
        "prices_as_of": report.prices["as_of"],
    }


def json_text(report: Report) -> str:
    return json.dumps(as_json(report), indent=2, sort_keys=False) + "\n"
