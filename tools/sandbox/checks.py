"""What the preflight and the smoke check have in common: a check's result, running a list of checks
so that one that cannot run is reported instead of ending the run, and the closing count."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"
        return text if self.ok or not self.fix else f"{text}\n      fix: {self.fix}"


def run_checks(checks: Iterable[tuple[str, Callable[[], Iterable[Result]]]], *, errors: tuple[type[BaseException], ...], fix: str) -> list[Result]:
    """Every check's results; a check that raises one of ``errors`` becomes one FAIL line with ``fix``."""
    found: list[Result] = []
    for name, check in checks:
        try:
            found.extend(check())
        except errors as error:
            found.append(Result(name.replace("_", " "), False, f"could not check: {error}", fix))
    return found


def report(label: str, results: list[Result]) -> int:
    """Print each result and the count; the exit code is 1 when anything failed."""
    for result in results:
        print(result.line())
    failed = [r for r in results if not r.ok]
    print(f"{label}: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
