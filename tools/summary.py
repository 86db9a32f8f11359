"""Print a short summary of a synthesized assembly: deployments, regions, resources, gate result.

Usage: python -m tools.summary [cdk.out]
Each deployment is listed once under the name `cdk deploy` takes (the hierarchical id, e.g.
``Pipeline/Sandbox/Keys`` in the review synth, whose stages the pipeline holds, or ``Sandbox/Keys``
with ``-c pipeline=false``) with its CloudFormation stack name; "delivered by" names the pipeline
whose stage deploys it. An assembly that holds a stage twice (a top-level ``Sandbox/Keys`` and a
pipeline's ``Pipeline/Sandbox/Keys``, the same ``Sandbox-Keys`` stack in the same account and
region) lists it once, and the closing line says how many copies the assembly holds.
Exit status 1 when the compliance gates reported violations.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from tools.assembly import acknowledgments, deployments, stacks, validation_report


def main(argv: list[str]) -> int:
    outdir = Path(argv[1] if len(argv) > 1 else "cdk.out")
    if not (outdir / "manifest.json").exists():
        print(f"summary: no cloud assembly at {outdir}", file=sys.stderr)
        return 1
    found = stacks(outdir)
    deployed = deployments(found)
    width = max((len(d.display_name) for d in deployed), default=10)
    name_width = max((len(d.name) for d in deployed), default=10)
    header = f"{'deploy as':<{width}}  {'CloudFormation stack':<{name_width}}  {'region':<13} {'account':<12} {'resources':>9} {'acks':>5}"
    print(header + "  delivered by")
    total = acks = 0
    for deployment in deployed:
        stack = deployment.stack
        count = len(stack.resources())
        acknowledged = len(acknowledgments(stack))
        total += count
        acks += acknowledged
        via = ", ".join(deployment.delivered_by) or "-"
        line = f"{stack.display_name:<{width}}  {stack.name:<{name_width}}  {stack.region:<13} {stack.account:<12} {count:>9} {acknowledged:>5}"
        print(f"{line}  {via}")
    regions = Counter(d.stack.region for d in deployed)
    copies = len(found) - len(deployed)
    print(
        f"{len(deployed)} deployments, {total} resources; regions: "
        + ", ".join(f"{r} ({n})" for r, n in sorted(regions.items()))
        # Wording matters: the assembly holds more stacks than there are deployments when the pipeline is in it.
        + (f"; the assembly holds {len(found)} stacks, {copies} of them the pipeline's copies of the stages above" if copies else "")
    )
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
    print(f"compliance gates (AwsSolutions, HIPAA.Security): PASSED; {acks} acknowledged finding(s) with reasons in these deployments")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
