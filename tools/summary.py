"""Print a short summary of a synthesized assembly: stacks, regions, resources, gate result.

Usage: python -m tools.summary [cdk.out]
Exit status 1 when the compliance gates reported violations.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from tools.assembly import acknowledgments, stacks, validation_report


def main(argv: list[str]) -> int:
    outdir = Path(argv[1] if len(argv) > 1 else "cdk.out")
    if not (outdir / "manifest.json").exists():
        print(f"summary: no cloud assembly at {outdir}", file=sys.stderr)
        return 1
    found = stacks(outdir)
    width = max((len(s.name) for s in found), default=10)
    print(f"{'stack':<{width}}  {'region':<13} {'account':<12} {'resources':>9} {'acks':>5}")
    total = 0
    for stack in found:
        count = len(stack.resources())
        total += count
        print(f"{stack.name:<{width}}  {stack.region:<13} {stack.account:<12} {count:>9} {len(acknowledgments(stack)):>5}")
    regions = Counter(s.region for s in found)
    print(f"{len(found)} stacks, {total} resources; regions: " + ", ".join(f"{r} ({n})" for r, n in sorted(regions.items())))
    report = validation_report(outdir)
    violations = [(p["pluginName"], v) for p in report["pluginReports"] for v in p.get("violations", [])]
    errors = [(name, v) for name, v in violations if v.get("severity", "error") == "error"]
    if errors:
        print(f"compliance gates (AwsSolutions, HIPAA.Security): FAILED with {len(errors)} rule(s) violated:")
        for name, violation in errors:
            paths = [c["constructPath"] for c in violation.get("violatingConstructs", [])]
            print(f"  {name} {violation['ruleName']}: {', '.join(paths[:3])}{' ...' if len(paths) > 3 else ''}")
        print(f"  full report: {outdir / 'validation-report.json'}")
        return 1
    acks = sum(len(acknowledgments(s)) for s in found)
    print(f"compliance gates (AwsSolutions, HIPAA.Security): PASSED; {acks} resource(s) carry acknowledged findings with reasons")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
