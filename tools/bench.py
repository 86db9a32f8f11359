"""Synth benchmark: wall seconds per phase and resources per deployment. Prints figures; asserts nothing.

Usage: python -m tools.bench [--runs N] [--no-pipeline]
Phases: import of the CDK libraries, construction of every stage, synthesis with the compliance
gates (cdk-nag AwsSolutions + HIPAA.Security), as ``app.py`` does it (in-process, no CLI).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def one_run(outdir: Path, *, pipeline: bool = True) -> dict[str, float]:
    t0 = time.perf_counter()
    from stacks import config as cfg
    from stacks.app_factory import add_pipeline, new_app, populate
    from stacks.config.pipeline import tooling

    t1 = time.perf_counter()
    app = new_app(outdir=str(outdir))
    configs = [cfg.load(name, cfg.PLACEHOLDER_ACCOUNTS[name]) for name in cfg.ENVIRONMENT_NAMES]
    populate(app, configs)
    if pipeline:  # as app.py does by default: the pipeline re-instantiates both stages
        add_pipeline(app, config=tooling(), sandbox=configs[0], production=configs[1])
    t2 = time.perf_counter()
    app.synth()
    t3 = time.perf_counter()
    return {"import": t1 - t0, "construct": t2 - t1, "synth+gates": t3 - t2, "total": t3 - t0}


def deployment_table(outdir: Path) -> str:
    """Resources per deployment, each counted once (tools.assembly.deployments): the pipeline's copies
    of the stages are synthesized (and timed) but are the same deployments."""
    from tools.assembly import deployments, stacks

    found = stacks(outdir)
    deployed = deployments(found)
    lines = [f"{'deploy as':<32} {'region':<13} {'resources':>9}  delivered by"]
    for d in deployed:
        lines.append(f"{d.display_name:<32} {d.stack.region:<13} {len(d.stack.resources()):>9}  {', '.join(d.delivered_by) or '-'}")
    total = sum(len(d.stack.resources()) for d in deployed)
    copies = len(found) - len(deployed)
    extra = f" ({len(found)} stacks synthesized: {copies} pipeline copies)" if copies else ""
    lines.append(f"{len(deployed)} deployments, {total} resources{extra}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-pipeline", action="store_true", help="leave out the delivery pipeline (like -c pipeline=false)")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            outdir = Path(tmp) / f"run{i}"
            runs.append(one_run(outdir, pipeline=not args.no_pipeline))
        print(deployment_table(Path(tmp) / "run0"))
    print(f"\nsynth wall seconds over {args.runs} run(s) in one process (first run pays the jsii start-up):")
    for phase in runs[0]:
        values = [r[phase] for r in runs]
        print(f"  {phase:<12} first {values[0]:6.2f}  median {statistics.median(values):6.2f}  max {max(values):6.2f}")


if __name__ == "__main__":
    main()
