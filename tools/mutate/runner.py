"""A small mutation runner: plant one bug at a time in a copy of the tree, run only the tests that
should notice, and count the bugs nobody noticed.

The working tree is never written: the project is copied once into a temporary directory
(``.git``, caches and build output left out; ``.venv`` and ``node_modules`` linked, not copied), each
mutation is written into the copy, its tests run there with this interpreter, and the copy's file
is restored before the next one. The copy is removed at the end, on an error and on Ctrl-C alike,
so an interrupted run leaves nothing behind.

A mutation is killed when its tests fail (any non-zero pytest exit but 5, "no tests collected",
which is reported as an error: a mutation whose tests do not exist proves nothing). Before any
mutation, each distinct test selection runs once on the unmutated copy: a selection that is
already red would "kill" every mutation, so the run stops with an error instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

KILLED = "killed"
SURVIVED = "survived"
ERROR = "error"

# Not copied: version control, build output, caches. Linked instead of copied: the toolchain.
IGNORED = (".git", "cdk.out", "cdk.out.*", ".pytest_cache", ".mypy_cache", ".ruff_cache", "__pycache__", "*.pyc", ".venv", "node_modules")
LINKED = (".venv", "node_modules")
NO_TESTS_COLLECTED = 5


@dataclass(frozen=True)
class Mutation:
    """One planted bug: ``original`` must occur exactly once in ``file``; it becomes ``mutated``."""

    id: str
    file: str  # relative to the project root
    original: str
    mutated: str
    tests: tuple[str, ...]  # pytest arguments: files or node IDs, relative to the project root
    why: str = ""  # the bug in words (what a reviewer would miss)
    owner: str = ""  # the helper/area whose code this is, when not ours (e.g. "handlers")


@dataclass
class Outcome:
    mutation: Mutation
    status: str
    seconds: float
    detail: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    baseline_seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def survival_rate(self) -> float:
        decided = self.count(KILLED) + self.count(SURVIVED)
        return self.count(SURVIVED) / decided if decided else 0.0

    def lines(self) -> list[str]:
        out = []
        for o in self.outcomes:
            owner = f" [{o.mutation.owner}]" if o.mutation.owner else ""
            detail = f" ({o.detail})" if o.detail else ""
            out.append(f"{o.status.upper():9} {o.mutation.id:44} {o.mutation.file}{owner} {o.seconds:5.1f}s{detail}")
        survived = [o.mutation for o in self.outcomes if o.status == SURVIVED]
        out.append(
            f"mutations: {len(self.outcomes)}, killed {self.count(KILLED)}, survived {self.count(SURVIVED)}, errors {self.count(ERROR)}; "
            f"survival rate {self.survival_rate:.0%}"
        )
        for m in survived:
            owner = f" [{m.owner}]" if m.owner else ""
            out.append(f"  survived: {m.id}{owner}: {m.why}")
        return out


class MutationError(Exception):
    """The mutation list or the unmutated tests are wrong: nothing can be concluded."""


def check(mutations: Sequence[Mutation], root: Path) -> None:
    """Every mutation applies exactly once, changes something, names tests that exist; ids are unique."""
    seen: set[str] = set()
    problems = []
    for m in mutations:
        if m.id in seen:
            problems.append(f"{m.id}: duplicate id")
        seen.add(m.id)
        path = root / m.file
        if not path.is_file():
            problems.append(f"{m.id}: {m.file} does not exist")
            continue
        found = path.read_text().count(m.original)
        if found != 1:
            problems.append(f"{m.id}: the original snippet occurs {found} times in {m.file} (must be exactly once)")
        if m.original == m.mutated:
            problems.append(f"{m.id}: the mutated snippet is the original")
        if not m.tests:
            problems.append(f"{m.id}: no tests named")
        for test in m.tests:
            if not (root / test.split("::")[0]).exists():
                problems.append(f"{m.id}: test {test} does not exist")
    if problems:
        raise MutationError("invalid mutations:\n  " + "\n  ".join(problems))


def copy_tree(root: Path, target: Path) -> Path:
    copy = target / root.name
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(*IGNORED), symlinks=True)
    for name in LINKED:
        if (root / name).exists():
            (copy / name).symlink_to((root / name).resolve())
    return copy


def run_tests(copy: Path, tests: Iterable[str], timeout: float, python: str) -> tuple[int, str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env["PATH"] = f"{Path(python).parent}{os.pathsep}{env.get('PATH', '')}"  # the venv's node first, as the Makefile does
    command = [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header", "-o", "addopts=", *tests]
    try:
        done = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {timeout:.0f}s"
    tail = (done.stdout.strip().splitlines() or [""])[-1]
    return done.returncode, tail


def run(
    mutations: Sequence[Mutation],
    root: Path,
    *,
    timeout: float = 600,
    python: str = sys.executable,
    progress: Callable[[str], None] = lambda line: None,
) -> Report:
    root = root.resolve()
    check(mutations, root)
    report = Report()
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        copy = copy_tree(root, Path(tmp))
        started = time.perf_counter()
        for tests in dict.fromkeys(m.tests for m in mutations):
            code, tail = run_tests(copy, tests, timeout, python)
            if code != 0:
                raise MutationError(f"the unmutated tests fail, nothing can be concluded: {' '.join(tests)}: exit {code}: {tail}")
            progress(f"baseline   {' '.join(tests)}: {tail}")
        report.baseline_seconds = time.perf_counter() - started
        for m in mutations:
            path = copy / m.file
            original = path.read_text()
            path.write_text(original.replace(m.original, m.mutated, 1))
            started = time.perf_counter()
            try:
                code, tail = run_tests(copy, m.tests, timeout, python)
            finally:
                path.write_text(original)
            if code == NO_TESTS_COLLECTED:
                outcome = Outcome(m, ERROR, time.perf_counter() - started, "no tests collected")
            elif code == -1:
                outcome = Outcome(m, ERROR, time.perf_counter() - started, tail)
            else:
                outcome = Outcome(m, KILLED if code != 0 else SURVIVED, time.perf_counter() - started, "" if code else tail)
            report.outcomes.append(outcome)
            progress(report.lines()[len(report.outcomes) - 1])
    return report
