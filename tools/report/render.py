"""Render a Report as Markdown, as a self-contained HTML page and as JSON (for tools and tests)."""

from __future__ import annotations

import html
import json
from typing import Any

from tools.report.build import Report, RequirementRow
from tools.report.cost import Estimate
from tools.report.cost import price_rows as cost_price_rows
from tools.report.model import GATE_PACKS

TITLE = "MediVault EU: traceability, compliance and cost report"
GATE_NOTE = (
    "Gate PASSED on a requirement means every rule of both cdk-nag packs (and CloudFormation validation) that applies to its "
    "resources found nothing unacknowledged: cdk-nag v3 reports violations only, so the rules that passed are not listed one by one. "
    "Acknowledged findings are listed with their reasons, as written into the templates."
)


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _qty(value: float) -> str:
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def _gate_line(report: Report) -> str:
    a = report.assembly
    if a.gate_passed:
        acks = sum(len(r.acknowledged) for r in a.resources)
        packs = ", ".join(GATE_PACKS)
        return f"PASSED: {packs} and CloudFormation validation found no unacknowledged finding; {acks} acknowledged finding(s), each with its reason."
    return f"FAILED: {len(a.gate_violations)} unacknowledged finding(s); see validation-report.json."


def _resource_counts(row: RequirementRow) -> str:
    counts: dict[str, int] = {}
    for r in row.resources:
        counts[r.stage or "app"] = counts.get(r.stage or "app", 0) + 1
    return ", ".join(f"{stage} {n}" for stage, n in counts.items()) or "none"


def _tests_text(row: RequirementRow) -> str:
    return ", ".join(f"{t.path} ({t.tests})" for t in row.tests) or "none"


def _status_md(row: RequirementRow) -> str:
    return f"**{row.status}**" if row.gap else row.status


def _esc_md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --- Markdown -------------------------------------------------------------------------------------


def markdown(report: Report) -> str:
    a = report.assembly
    out = [f"# {TITLE}", ""]
    out.append(f"Generated from the cloud assembly by `python -m tools.report`: {len(a.stacks)} stacks, {len(a.resources)} resources, "
               f"{len(a.traced())} of them traced to a requirement.")  # fmt: skip
    out += ["", f"**Compliance gates:** {_gate_line(report)}", ""]
    gaps = report.gaps
    out.append(f"**Gaps:** {', '.join(gaps)} have no resource yet." if gaps else "**Gaps:** none; every requirement has at least one resource.")
    out += ["", "## Requirements matrix", ""]
    out.append(GATE_NOTE)
    out.append("")
    out.append("| id | need | status | resources per stage | acknowledged findings | gate | tests (test functions) |")
    out.append("|----|------|--------|-----------|--------------|------|-------|")
    for row in report.requirements:
        out.append(
            f"| [{row.id}](#{row.id.lower()}) | {_esc_md(row.need)} | {_status_md(row)} | {_resource_counts(row)} "
            f"| {len(row.acknowledged)} | {row.gate} | {_tests_text(row)} |"
        )
    for row in report.requirements:
        out += ["", f"### {row.id}", "", f"*{row.need}*. Status: **{row.status}**. Pillars: {', '.join(row.pillars) or 'none'}.", ""]
        if row.whys:
            out.append("How:")
            out += [f"- `{path}`: {why}" for path, why in row.whys]
            out.append("")
        out.append(f"Tests: {_tests_text(row)}.")
        out.append("")
        if row.gap:
            continue
        out.append(f"Compliance gate on these resources: **{row.gate}**" + (f" ({len(row.violations)} violation(s))" if row.violations else ""))
        out += ["", "| stack | logical ID | type | acknowledged findings (reason) |", "|-------|-----------|------|-----------------|"]
        for r in row.resources:
            acks = "; ".join(f"{rule}: {reason}" for rule, reason in r.acknowledged) or ""
            bad = "; ".join(f"VIOLATION {v}" for v in r.violations)
            out.append(f"| {r.stack} | {r.logical_id} | {r.type} | {_esc_md('; '.join(x for x in (acks, bad) if x))} |")
    out += ["", "## Well-Architected pillars", ""]
    for p in report.pillars:
        out.append(f"### {p.pillar}")
        out.append("")
        out.append(f"Requirements: {', '.join(p.requirements) or 'none traced yet'}; {p.resources} resource(s).")
        out.append("")
        out += [f"- `{path}`: {why}" for path, why in p.whys]
        out.append("")
    out += _markdown_costs(report)
    return "\n".join(out).rstrip() + "\n"


def _markdown_costs(report: Report) -> list[str]:
    prices = report.prices
    out = ["## Monthly cost estimate", ""]
    out.append(f"Prices: `tools/report/prices_eu-central-1.json`, {prices['region']}, {prices['currency']}, as of **{prices['as_of']}**, "
               f"{prices['hours_per_month']} hours per month.")  # fmt: skip
    out += [f"- {note}" for note in prices["notes"]]
    out += ["", "| service | " + " | ".join(e.stage for e in report.estimates) + " |", "|---|" + "---:|" * len(report.estimates)]
    for service, amounts in service_totals(report):
        out.append(f"| {service} | " + " | ".join(_money(a) for a in amounts) + " |")
    out.append("| **total** | " + " | ".join(f"**{_money(e.total)}**" for e in report.estimates) + " |")
    for e in report.estimates:
        out += _markdown_estimate(e)
    out += ["", "### Price table", "", "| key | USD | unit | source |", "|-----|----:|------|--------|"]
    out += [f"| `{key}` | {usd} | {unit} | {source} |" for key, usd, unit, source in price_rows(prices)]
    return out


def service_totals(report: Report) -> list[tuple[str, list[float]]]:
    """Per service, the monthly amount in each stage (0 where a stage has none), in first-seen order."""
    services = list(dict.fromkeys(line.service for e in report.estimates for line in e.lines))
    return [(service, [e.by_service().get(service, 0.0) for e in report.estimates]) for service in services]


def price_rows(prices: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(key, price, unit, source with the date it was entered and how) per price (cost.price_rows)."""
    return [(key, usd, unit, f"{source}, {dated}") for key, usd, unit, source, dated in cost_price_rows(prices)]


def _markdown_estimate(e: Estimate) -> list[str]:
    out = ["", f"### {e.stage} (usage assumptions: {e.environment})", ""]
    out += ["| service | item | quantity | unit | unit price | monthly | quantity from |", "|---|---|---:|---|---:|---:|---|"]
    for line in e.lines:
        out.append(
            f"| {line.service} | {_esc_md(line.item)} | {_qty(line.quantity)} | {line.unit} | {line.unit_price:g} "
            f"| {_money(line.monthly)} | {_esc_md(line.basis)} |"
        )
    out.append(f"| **total** | | | | | **{_money(e.total)}** | |")
    out.append("")
    if e.not_estimated:
        out.append(f"Not estimated (no resource in the assembly yet): {', '.join(e.not_estimated)}.")
    if e.unpriced:
        out.append("Found but not priced: " + "; ".join(e.unpriced) + ".")
    out += ["", "Usage assumptions used (`tools/report/usage_assumptions.json`):", ""]
    out += [f"- `{a.key}` = {a.value} {a.unit}: {a.why}" for a in e.assumptions.values()]
    return out


# --- HTML -----------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2633;background:#f6f7f9;line-height:1.45}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:.2em 0}h2{margin-top:1.8em;border-bottom:2px solid #d5dbe3;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;background:#fff;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #d5dbe3;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eef1f5}
td.num{text-align:right;white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.85em;font-weight:600}
.ok{background:#d9f2e3;color:#145c32}.gap{background:#fde2e1;color:#8a1c17}.warn{background:#fff1c9;color:#6b4e00}
details{background:#fff;border:1px solid #d5dbe3;border-radius:6px;margin:.5em 0;padding:.4em .8em}
summary{cursor:pointer;font-weight:600}code{font-size:.9em;background:#eef1f5;padding:0 3px;border-radius:3px}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{background:#fff;border:1px solid #d5dbe3;border-radius:6px;padding:10px 14px;flex:1 1 300px}
.diagram{background:#fff;border:1px solid #d5dbe3;border-radius:6px;padding:8px;overflow-x:auto}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _badge(row: RequirementRow) -> str:
    kind = "gap" if row.gap or row.gate == "FAILED" else ("warn" if not row.tests else "ok")
    return f'<span class="badge {kind}">{_e(row.status)}</span>'


def html_page(report: Report, diagram_svg: str = "") -> str:
    a = report.assembly
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(TITLE)}</title>",
        f"<style>{CSS}</style></head><body><main>",
    ]
    parts.append(f"<h1>{_e(TITLE)}</h1>")
    parts.append(f"<p>{len(a.stacks)} stacks, {len(a.resources)} resources, {len(a.traced())} traced to a requirement.</p>")
    gate_kind = "ok" if a.gate_passed else "gap"
    parts.append(f'<p><span class="badge {gate_kind}">compliance gates</span> {_e(_gate_line(report))}</p>')
    if report.gaps:
        parts.append(f'<p><span class="badge gap">gaps</span> {_e(", ".join(report.gaps))}: no resource implements them yet.</p>')
    parts.append('<div class="cards">')
    for e in report.estimates:
        parts.append(f'<div class="card"><strong>{_e(e.stage)}</strong><br>estimated {_e(_money(e.total))} per month</div>')
    parts.append("</div>")
    if diagram_svg:
        parts.append(f'<h2>Architecture</h2><div class="diagram">{diagram_svg}</div>')
    parts.append(f"<h2>Requirements matrix</h2><p>{_e(GATE_NOTE)}</p>")
    parts.append(
        "<table><tr><th>id</th><th>need</th><th>status</th><th>resources per stage</th><th>acknowledged findings</th>"
        "<th>gate</th><th>tests (test functions)</th></tr>"
    )
    for row in report.requirements:
        parts.append(
            f'<tr><td><a href="#{row.id.lower()}">{row.id}</a></td><td>{_e(row.need)}</td><td>{_badge(row)}</td><td>{_e(_resource_counts(row))}</td>'
            f'<td class="num">{len(row.acknowledged)}</td><td>{_e(row.gate)}</td><td>{_e(_tests_text(row))}</td></tr>'
        )
    parts.append("</table>")
    for row in report.requirements:
        parts.append(f'<details id="{row.id.lower()}"><summary>{row.id}: {_e(row.need)} {_badge(row)}</summary>')
        parts.append(f"<p>Pillars: {_e(', '.join(row.pillars) or 'none')}. Tests: {_e(_tests_text(row))}.</p>")
        if row.whys:
            parts.append("<ul>" + "".join(f"<li><code>{_e(p)}</code>: {_e(w)}</li>" for p, w in row.whys) + "</ul>")
        if row.resources:
            parts.append(f"<p>Compliance gate on these resources: <strong>{_e(row.gate)}</strong></p>")
            parts.append("<table><tr><th>stack</th><th>logical ID</th><th>type</th><th>acknowledged findings (reason)</th></tr>")
            for r in row.resources:
                acks = "".join(f"<div><code>{_e(rule)}</code> {_e(reason)}</div>" for rule, reason in r.acknowledged)
                acks += "".join(f'<div class="badge gap">VIOLATION {_e(v)}</div>' for v in r.violations)
                parts.append(f"<tr><td>{_e(r.stack)}</td><td>{_e(r.logical_id)}</td><td>{_e(r.type)}</td><td>{acks}</td></tr>")
            parts.append("</table>")
        parts.append("</details>")
    parts.append('<h2>Well-Architected pillars</h2><div class="cards">')
    for p in report.pillars:
        items = "".join(f"<li>{_e(w)} <code>{_e(path)}</code></li>" for path, w in p.whys)
        parts.append(
            f'<div class="card"><strong>{_e(p.pillar)}</strong><br>requirements: {_e(", ".join(p.requirements) or "none traced yet")}; '
            f"{p.resources} resource(s)<ul>{items}</ul></div>"
        )
    parts.append("</div>")
    parts.append(_html_costs(report))
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _html_costs(report: Report) -> str:
    prices = report.prices
    parts = ["<h2>Monthly cost estimate</h2>"]
    parts.append(f"<p>Price table <code>tools/report/prices_eu-central-1.json</code>: {_e(prices['region'])}, {_e(prices['currency'])}, "
                 f"as of <strong>{_e(prices['as_of'])}</strong>, {_e(prices['hours_per_month'])} hours per month.</p>")  # fmt: skip
    parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in prices["notes"]) + "</ul>")
    parts.append("<table><tr><th>service</th>" + "".join(f"<th>{_e(e.stage)}</th>" for e in report.estimates) + "</tr>")
    for service, amounts in service_totals(report):
        parts.append(f"<tr><td>{_e(service)}</td>" + "".join(f'<td class="num">{_e(_money(a))}</td>' for a in amounts) + "</tr>")
    parts.append("<tr><th>total</th>" + "".join(f'<th class="num">{_e(_money(e.total))}</th>' for e in report.estimates) + "</tr></table>")
    for e in report.estimates:
        parts.append(f"<h3>{_e(e.stage)}: {_e(_money(e.total))} per month</h3>")
        parts.append(
            "<table><tr><th>service</th><th>item</th><th>quantity</th><th>unit</th><th>unit price</th><th>monthly</th><th>quantity from</th></tr>"
        )
        for line in e.lines:
            parts.append(
                f'<tr><td>{_e(line.service)}</td><td>{_e(line.item)}</td><td class="num">{_e(_qty(line.quantity))}</td><td>{_e(line.unit)}</td>'
                f'<td class="num">{line.unit_price:g}</td><td class="num">{_e(_money(line.monthly))}</td><td>{_e(line.basis)}</td></tr>'
            )
        parts.append(f'<tr><th colspan="5">total</th><th class="num">{_e(_money(e.total))}</th><th></th></tr></table>')
        if e.not_estimated:
            parts.append(f"<p>Not estimated (no resource in the assembly yet): {_e(', '.join(e.not_estimated))}.</p>")
        if e.unpriced:
            parts.append(f"<p>Found but not priced: {_e('; '.join(e.unpriced))}.</p>")
        parts.append("<details><summary>Usage assumptions used</summary><ul>")
        parts.append("".join(f"<li><code>{_e(a.key)}</code> = {_e(a.value)} {_e(a.unit)}: {_e(a.why)}</li>" for a in e.assumptions.values()))
        parts.append("</ul></details>")
    parts.append("<details><summary>Price table</summary><table><tr><th>key</th><th>USD</th><th>unit</th><th>source</th></tr>")
    for key, usd, unit, source in price_rows(prices):
        parts.append(f'<tr><td><code>{_e(key)}</code></td><td class="num">{_e(usd)}</td><td>{_e(unit)}</td><td>{_e(source)}</td></tr>')
    parts.append("</table></details>")
    return "\n".join(parts)


# --- JSON -----------------------------------------------------------------------------------------


def as_json(report: Report) -> dict[str, Any]:
    return {
        "gate": {"passed": report.assembly.gate_passed, "violations": [list(v) for v in report.assembly.gate_violations]},
        "gaps": list(report.gaps),
        "requirements": {
            row.id: {
                "need": row.need,
                "status": row.status,
                "gate": row.gate,
                "pillars": list(row.pillars),
                "resources": [
                    {
                        "stage": r.stage,
                        "stack": r.stack,
                        "logical_id": r.logical_id,
                        "type": r.type,
                        "acknowledged": [{"id": rule, "reason": reason} for rule, reason in r.acknowledged],
                        "violations": list(r.violations),
                    }
                    for r in row.resources
                ],
                "why": [{"construct": p, "why": w} for p, w in row.whys],
                "tests": [{"path": t.path, "tests": t.tests} for t in row.tests],
            }
            for row in report.requirements
        },
        "pillars": {
            p.pillar: {"requirements": list(p.requirements), "resources": p.resources, "why": [w for _, w in p.whys]} for p in report.pillars
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
                "assumptions": {a.key: {"value": a.value, "unit": a.unit, "why": a.why} for a in e.assumptions.values()},
            }
            for e in report.estimates
        },
        "prices_as_of": report.prices["as_of"],
    }


def json_text(report: Report) -> str:
    return json.dumps(as_json(report), indent=2, sort_keys=False) + "\n"
