"""tools/sandbox/checks.py: one check that cannot run becomes a FAIL line; the others still run."""

from __future__ import annotations

import pytest

from tools.sandbox.checks import Result, report, run_checks


def test_a_check_that_raises_is_one_fail_line_and_the_rest_still_run() -> None:
    def broken() -> list[Result]:
        raise PermissionError("AccessDenied")

    results = run_checks(
        [("first_check", lambda: [Result("a", True, "fine")]), ("needs_access", broken), ("last", lambda: [Result("b", False, "bad", "fix b")])],
        errors=(PermissionError,),
        fix="grant read access",
    )
    assert results == [
        Result("a", True, "fine"),
        Result("needs access", False, "could not check: AccessDenied", "grant read access"),
        Result("b", False, "bad", "fix b"),
    ]


def test_an_unexpected_error_is_not_swallowed() -> None:
    def broken() -> list[Result]:
        raise ValueError("a bug, not a missing permission")

    with pytest.raises(ValueError):
        run_checks([("x", broken)], errors=(PermissionError,), fix="-")


def test_report_prints_each_line_and_the_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert report("preflight", [Result("a", True, "fine"), Result("b", False, "bad", "do this")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["PASS  a: fine", "FAIL  b: bad", "      fix: do this", "preflight: 1 passed, 1 failed"]
    assert report("smoke", [Result("a", True, "fine")]) == 0
