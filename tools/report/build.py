"""Assemble the report data (requirement matrix, pillar summary, cost estimates) from the assembly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from constructs.traceability import PILLARS, REQUIREMENTS

from tools.report import cost
from tools.report.model import Assembly, Resource, all_requirements, load
from tools.report.tests_index import TestModule, requirement_tests

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RequirementRow:
    id: str
    need: str
    resources: tuple[Resource, ...]
    whys: tuple[tuple[str, str], ...]  # (construct path, sentence), distinct
    pillars: tuple[str, ...]
    tests: tuple[TestModule, ...]

    @property
    def gap(self) -> bool:
        return not self.resources

    @property
    def violations(self) -> tuple[tuple[Resource, str], ...]:
        return tuple((r, v) for r in self.resources for v in r.violations)

    @property
    def acknowledged(self) -> tuple[tuple[Resource, str, str], ...]:
        return tuple((r, rule, reason) for r in self.resources for rule, reason in r.acknowledged)

    @property
    def gate(self) -> str:
        if self.gap:
            return "n/a"
        return "FAILED" if self.violations else "PASSED"

    @property
    def status(self) -> str:
        if self.gap:
            return "GAP: no resource implements it yet"
        if not self.tests:
            return "implemented, no test marked"
        return "implemented"


@dataclass(frozen=True)
class PillarRow:
    pillar: str
    requirements: tuple[str, ...]
    resources: int
    whys: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Report:
    assembly: Assembly
    requirements: tuple[RequirementRow, ...]
    pillars: tuple[PillarRow, ...]
    estimates: tuple[cost.Estimate, ...]
    prices: dict  # type: ignore[type-arg]

    @property
    def gaps(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.requirements if r.gap)


def _distinct_whys(resources: list[Resource], keep: str, attr: str) -> tuple[tuple[str, str], ...]:
    seen: dict[tuple[str, str], None] = {}
    for resource in resources:
        for trace in resource.traces:
            if keep in getattr(trace, attr):
                # One sentence per construct, whatever stage it was synthesized in.
                path = "/".join(trace.path.strip("/").split("/")[1:])
                seen[(path, trace.why)] = None
    return tuple(sorted(seen))


def build(outdir: Path, *, tests_root: Path | None = None, repo_root: Path = ROOT) -> Report:
    assembly = load(outdir)
    tests = requirement_tests(tests_root or repo_root / "tests", repo_root)
    traced = assembly.traced()
    rows = []
    for rid in all_requirements():
        resources = [r for r in traced if rid in r.requirements]
        pillars = tuple(p for p in PILLARS if any(p in t.pillars and rid in t.requirements for r in resources for t in r.traces))
        rows.append(
            RequirementRow(
                id=rid,
                need=REQUIREMENTS[rid],
                resources=tuple(resources),
                whys=_distinct_whys(resources, rid, "requirements"),
                pillars=pillars,
                tests=tuple(tests.get(rid, [])),
            )
        )
    pillar_rows = []
    for pillar in PILLARS:
        resources = [r for r in traced if any(pillar in t.pillars for t in r.traces)]
        requirements = sorted({rid for r in resources for t in r.traces if pillar in t.pillars for rid in t.requirements}, key=lambda x: int(x[1:]))
        pillar_rows.append(PillarRow(pillar, tuple(requirements), len(resources), _distinct_whys(resources, pillar, "pillars")))
    prices = cost.load_prices()
    usage = cost.load_usage()
    stacks = list(assembly.stacks)
    # The delivery pipeline's own copies of the stages (Pipeline-Sandbox, Pipeline-Production) are
    # the same deployments as the environment stages: pricing them again would double the bill.
    estimates = tuple(
        cost.estimate(stacks, stage, prices=prices, usage=usage) for stage in assembly.stages() if stage and not stage.startswith("Pipeline-")
    )
    return Report(assembly=assembly, requirements=tuple(rows), pillars=tuple(pillar_rows), estimates=estimates, prices=prices)
