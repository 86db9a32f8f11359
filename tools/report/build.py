"""Assemble the report data (requirement statuses, findings, pillar summary, cost estimates) from the assembly.

Every deployment is counted once (``tools.assembly.deployments``): the pipeline's copies of the stages
are the same stacks in the same accounts and regions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from catalog import PILLARS, REQUIREMENTS
from tools.report import cost, status
from tools.report.model import Assembly, Resource, all_requirements, load
from tools.report.tests_index import TestModule, requirement_tests

ROOT = Path(__file__).resolve().parents[2]

# One sentence and the construct paths (stage first, e.g. Production/Data/ImagingBucket) it was traced on.
Why = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class RequirementRow:
    id: str
    need: str
    claim: status.Status  # from tools/report/status.py, the source docs/requirements.md is generated from
    resources: tuple[Resource, ...]
    whys: tuple[Why, ...]
    pillars: tuple[str, ...]
    tests: tuple[TestModule, ...]
    evidence: tuple[tuple[str, int], ...]  # (resource type the claim names, how many the deployments hold)
    absent: tuple[tuple[str, int], ...]  # (resource type said to be missing, how many the deployments hold)

    @property
    def status(self) -> str:
        return self.claim.status

    @property
    def contradictions(self) -> tuple[str, ...]:
        """Where the synthesized app does not bear the claimed status out (empty when it does)."""
        found: list[str] = []
        if self.status in ("done", "partial"):
            if not self.resources:
                found.append("no synthesized resource is traced to it")
            if not self.tests:
                found.append("no test is marked for it")
            found += [f"no {kind} in the deployments" for kind, n in self.evidence if n == 0]
        found += [f"said to be missing, but the deployments hold {n} {kind}: update tools/report/status.py" for kind, n in self.absent if n]
        return tuple(found)

    @property
    def violations(self) -> tuple[tuple[Resource, str], ...]:
        return tuple((r, v) for r in self.resources for v in r.violations)

    @property
    def acknowledged(self) -> tuple[tuple[Resource, str, str], ...]:
        return tuple((r, rule, reason) for r in self.resources for rule, reason in r.acknowledged)

    @property
    def gate(self) -> str:
        if not self.resources:
            return "n/a"
        return "FAILED" if self.violations else "PASSED"


@dataclass(frozen=True)
class PillarRow:
    pillar: str
    requirements: tuple[str, ...]
    resources: int
    whys: tuple[Why, ...]


@dataclass(frozen=True)
class Finding:
    """One acknowledged rule: how many resources carry it, in which deployments, with which reasons."""

    rule: str
    resources: tuple[Resource, ...]
    reasons: tuple[tuple[str, int], ...]  # (reason, resources giving it), most frequent first

    @property
    def stacks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.display_name for r in self.resources))


@dataclass(frozen=True)
class Report:
    assembly: Assembly
    requirements: tuple[RequirementRow, ...]
    pillars: tuple[PillarRow, ...]
    estimates: tuple[cost.Estimate, ...]
    prices: dict  # type: ignore[type-arg]
    findings: tuple[Finding, ...] = ()

    @property
    def gaps(self) -> tuple[str, ...]:
        """Requirements that are not done (partial, not done), in order."""
        return tuple(r.id for r in self.requirements if r.status in ("partial", "not done"))

    @property
    def contradicted(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.requirements if r.contradictions)

    def counts(self) -> dict[str, int]:
        found = Counter(r.status for r in self.requirements)
        return {s: found.get(s, 0) for s in status.STATUSES}


def distinct_whys(resources: list[Resource], keep: str, attr: str) -> tuple[Why, ...]:
    """Each sentence once, with every construct path (stage included) it was traced on."""
    seen: dict[str, dict[str, None]] = {}
    for resource in resources:
        for trace in resource.traces:
            if keep in getattr(trace, attr):
                seen.setdefault(trace.why, {})[trace.path.strip("/")] = None
    return tuple(sorted((why, tuple(sorted(paths))) for why, paths in seen.items()))


def findings_by_rule(resources: tuple[Resource, ...]) -> tuple[Finding, ...]:
    by_rule: dict[str, list[tuple[Resource, str]]] = {}
    for resource in resources:
        for rule, reason in resource.acknowledged:
            by_rule.setdefault(rule, []).append((resource, reason))
    result = []
    for rule, items in by_rule.items():
        reasons = Counter(reason for _, reason in items)
        result.append(Finding(rule, tuple(r for r, _ in items), tuple(sorted(reasons.items(), key=lambda x: (-x[1], x[0])))))
    return tuple(sorted(result, key=lambda f: (-len(f.resources), f.rule)))


def build(outdir: Path, *, tests_root: Path | None = None, repo_root: Path = ROOT) -> Report:
    status.check()
    assembly = load(outdir)
    tests = requirement_tests(tests_root or repo_root / "tests", repo_root)
    traced = assembly.traced()
    types = Counter(r.type for r in assembly.resources)
    rows = []
    for rid in all_requirements():
        resources = [r for r in traced if rid in r.requirements]
        pillars = tuple(p for p in PILLARS if any(p in t.pillars and rid in t.requirements for r in resources for t in r.traces))
        claim = status.STATUS[rid]
        rows.append(
            RequirementRow(
                id=rid,
                need=REQUIREMENTS[rid],
                claim=claim,
                resources=tuple(resources),
                whys=distinct_whys(resources, rid, "requirements"),
                pillars=pillars,
                tests=tuple(tests.get(rid, [])),
                evidence=tuple((kind, types.get(kind, 0)) for kind in claim.evidence),
                absent=tuple((kind, types.get(kind, 0)) for kind in claim.absent),
            )
        )
    pillar_rows = []
    for pillar in PILLARS:
        resources = [r for r in traced if any(pillar in t.pillars for t in r.traces)]
        requirements = sorted({rid for r in resources for t in r.traces if pillar in t.pillars for rid in t.requirements}, key=lambda x: int(x[1:]))
        pillar_rows.append(PillarRow(pillar, tuple(requirements), len(resources), distinct_whys(resources, pillar, "pillars")))
    prices = cost.load_prices()
    usage = cost.load_usage()
    stacks = list(assembly.stacks)  # one per deployment: a stage delivered by the pipeline is priced once
    estimates = tuple(cost.estimate(stacks, stage, prices=prices, usage=usage) for stage in assembly.stages() if stage)
    return Report(
        assembly=assembly,
        requirements=tuple(rows),
        pillars=tuple(pillar_rows),
        estimates=estimates,
        prices=prices,
        findings=findings_by_rule(assembly.resources),
    )
