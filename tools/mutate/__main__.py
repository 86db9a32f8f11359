"""Usage: python -m tools.mutate [--only ID ...] [--list] [--json PATH] [--timeout SECONDS]

Runs every mutation of tools/mutate/mutations.py (or those named with --only) against a temporary
copy of the project and prints killed/survived per mutation and the survival rate. The working
tree is never modified. Exit status: 0 when the run completed (survivors are reported, not
failed on: they are findings to read), 2 when the mutation list or the unmutated tests are wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tools.mutate.mutations import MUTATIONS
from tools.mutate.runner import MutationError, run

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutate", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these mutations")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--json", type=Path, help="also write the outcomes as JSON here")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per test run (default 900)")
    args = parser.parse_args(argv)
    selected = [m for m in MUTATIONS if not args.only or m.id in args.only]
    unknown = set(args.only or ()) - {m.id for m in MUTATIONS}
    if unknown:
        print(f"unknown mutation ids: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if args.list:
        for m in selected:
            print(f"{m.id:44} {m.file:44} {' '.join(m.tests)}")
        return 0
    try:
        report = run(selected, ROOT, timeout=args.timeout, progress=lambda line: print(line, flush=True))
    except MutationError as error:
        print(error, file=sys.stderr)
        return 2
    print()
    print("\n".join(report.lines()))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "survival_rate": report.survival_rate,
                    "outcomes": [
                        {"id": o.mutation.id, "file": o.mutation.file, "owner": o.mutation.owner, "status": o.status, "seconds": round(o.seconds, 1)}
                        for o in report.outcomes
                    ],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
