"""Synth benchmark: the review synth's ``cdk synth`` time, its phases, resources per deployment.

Usage: python -m tools.bench [--runs N] [--phases-only] [-c key=value ...]
Prints figures; asserts nothing.

1. ``cdk synth --quiet`` as ``make synth`` runs it (the CDK CLI, app.py, the compliance gates:
   cdk-nag AwsSolutions + HIPAA.Security and aws-cdk-lib's CloudFormation validation), ``--runs``
   times: wall seconds and CPU seconds (user + sys of the CLI and everything it starts; on a shared
   machine the CPU figure is the steadier one). The goal (issue 19) is at most 6 s of wall time.
2. The same app in this process (``app.build``, the composition ``app.py`` uses), one run split
   into phases: import of the CDK libraries, construction, synthesis with the gates.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 6.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_run(outdir: Path, context: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``cdk synth --quiet`` into ``outdir``."""
    command = [str(ROOT / "node_modules" / ".bin" / "cdk"), "--no-notices", "synth", "--quiet", "--output", str(outdir)]
    for item in context:
        command += ["-c", item]
    env = {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true", "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    cpu0, t0 = _children_cpu(), time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if result.returncode != 0:
        sys.exit(f"bench: cdk synth failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return wall, cpu


def phases(outdir: Path, context: dict[str, Any]) -> dict[str, float]:
    """One in-process build and synth of the app, as ``app.py`` composes it."""
    t0 = time.perf_counter()
    import app as entry
    from stacks.composition import new_app

    t1 = time.perf_counter()
    cdk_app = new_app(outdir=str(outdir), context=context)
    entry.build(cdk_app)
    t2 = time.perf_counter()
    cdk_app.synth()
    t3 = time.perf_counter()
    return {"import": t1 - t0, "construct": t2 - t1, "synth+gates": t3 - t2, "total": t3 - t0}


def deployment_table(outdir: Path) -> str:
    """Resources per deployment (tools.assembly.deployments), each deployment counted once."""
    from tools.assembly import deployments, stacks

    found = stacks(outdir)
    deployed = deployments(found)
    lines = [f"{'deploy as':<36} {'region':<13} {'resources':>9}  delivered by"]
    for d in deployed:
        lines.append(f"{d.display_name:<36} {d.stack.region:<13} {len(d.stack.resources()):>9}  {', '.join(d.delivered_by) or '-'}")
    total = sum(len(d.stack.resources()) for d in deployed)
    copies = len(found) - len(deployed)
    extra = f" ({len(found)} stacks synthesized: {copies} pipeline copies)" if copies else f" ({len(found)} stacks synthesized, none twice)"
    lines.append(f"{len(deployed)} deployments, {total} resources{extra}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="cdk synth runs (default 3)")
    parser.add_argument("--phases-only", action="store_true", help="skip the CLI runs; only the in-process phases")
    parser.add_argument("-c", dest="context", action="append", default=[], help="context for app.py, as for cdk synth (key=value)")
    args = parser.parse_args()
    context = dict(item.split("=", 1) for item in args.context)
    with tempfile.TemporaryDirectory() as tmp:
        runs: list[tuple[float, float]] = []
        if not args.phases_only:
            for i in range(args.runs):
                runs.append(cli_run(Path(tmp) / f"cli{i}", args.context))
        split = phases(Path(tmp) / "phases", context)
        # The CLI's assembly when there is one (the CLI adds version reporting: one CDKMetadata per stack).
        print(deployment_table(Path(tmp) / ("cli0" if runs else "phases")))
    if runs:
        walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
        wall = statistics.median(walls)
        print(f"\ncdk synth (review synth, gates included) over {len(runs)} run(s):")
        print(f"  wall seconds  median {wall:6.2f}  min {min(walls):6.2f}  max {max(walls):6.2f}  (goal: at most {GOAL_SECONDS:.0f})")
        print(f"  CPU seconds   median {statistics.median(cpus):6.2f}  min {min(cpus):6.2f}  max {max(cpus):6.2f}  (user + sys, CLI and app)")
        print(f"  {'within' if wall <= GOAL_SECONDS else 'ABOVE'} the goal; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("\nin-process phases, wall seconds (app.build as app.py composes it; the first synth in a process pays the jsii start-up):")
    for phase, seconds in split.items():
        print(f"  {phase:<12} {seconds:6.2f}")


if __name__ == "__main__":
    main()
