"""``python -m tools.report [cdk.out]``: write ``<outdir>/report/`` (report.md, index.html,
report.json, architecture.svg). Exit status 1 when there is no assembly; gaps and a failed gate are
reported, not errors; so is a status in tools/report/status.py that the assembly contradicts (``make synth`` already fails on the gate)."""

from __future__ import annotations

import sys
from pathlib import Path

from tools.report import diagram, render
from tools.report.build import build


def main(argv: list[str]) -> int:
    outdir = Path(argv[1] if len(argv) > 1 else "cdk.out")
    if not (outdir / "manifest.json").exists():
        print(f"report: no cloud assembly at {outdir}; run `make synth` first", file=sys.stderr)
        return 1
    report = build(outdir)
    target = outdir / "report"
    target.mkdir(parents=True, exist_ok=True)
    svg = diagram.render(outdir)
    (target / "architecture.svg").write_text(svg)
    (target / "report.md").write_text(render.markdown(report))
    (target / "index.html").write_text(render.html_page(report, svg))
    (target / "report.json").write_text(render.json_text(report))
    totals = ", ".join(f"{e.stage} about {render.money(e.total)}/month" for e in report.estimates)
    counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n)
    contradicted = f"; CONTRADICTED by the assembly: {', '.join(report.contradicted)}" if report.contradicted else ""
    gaps = ", ".join(report.gaps) or "none"
    print(f"report: {target}/index.html (and report.md); requirements: {counts} (not fully done: {gaps}){contradicted}; estimate: {totals}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
