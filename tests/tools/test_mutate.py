"""The mutation runner of ``make mutate`` (tools/mutate/), on a tiny fake project in tmp_path.

One planted bug the project's test notices (killed), one it does not (survived); the project's
files are byte-for-byte the same afterwards, also when a run is interrupted; a mutation list
that does not apply, or tests that are red before any mutation, stop the run with an error.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tools.mutate import runner
from tools.mutate.mutations import MUTATIONS
from tools.mutate.runner import KILLED, SURVIVED, Mutation, MutationError, run

PROJECT = {
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
    "policy.py": ('def retention_allowed(days: int) -> bool:\n    return days >= 2555\n\n\ndef label() -> str:\n    return "seven years"\n'),
    "tests/test_policy.py": (
        "from policy import retention_allowed\n\n\ndef test_floor() -> None:\n    assert retention_allowed(2555) and not retention_allowed(2554)\n"
    ),
}
TESTS = ("tests/test_policy.py",)
FLOOR = Mutation("floor-off-by-one", "policy.py", "days >= 2555", "days >= 2554", TESTS, "one day short accepted")
LABEL = Mutation("label", "policy.py", '"seven years"', '"five years"', TESTS, "nobody reads the label")


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name, text in PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _fingerprint(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_noticed_bug_is_killed_an_unnoticed_one_survives_and_the_tree_is_unchanged(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = _fingerprint(root)
    report = run([FLOOR, LABEL], root, timeout=120)
    assert [(o.mutation.id, o.status) for o in report.outcomes] == [("floor-off-by-one", KILLED), ("label", SURVIVED)]
    assert report.survival_rate == 0.5
    assert report.lines()[-1] == "  survived: label: nobody reads the label"
    assert _fingerprint(root) == before  # nothing written, not even __pycache__ or .pytest_cache


def test_an_interrupted_run_leaves_the_tree_and_no_copy_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    before = _fingerprint(root)
    copies: list[Path] = []
    real = runner.run_tests

    def interrupted(copy: Path, tests: tuple[str, ...], timeout: float, python: str) -> tuple[int, str]:
        copies.append(copy)
        if len(copies) > 1:  # after the baseline, while the first mutation is applied in the copy
            assert "2554" in (copy / "policy.py").read_text()
            raise KeyboardInterrupt
        return real(copy, tests, timeout, python)

    monkeypatch.setattr(runner, "run_tests", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run([FLOOR, LABEL], root, timeout=120)
    assert _fingerprint(root) == before
    assert copies and not copies[0].exists()


def test_a_snippet_that_does_not_apply_exactly_once_stops_the_run(tmp_path: Path) -> None:
    root = _project(tmp_path)
    missing = Mutation("missing", "policy.py", "days > 2555", "days > 1", TESTS)
    twice = Mutation("twice", "policy.py", "return", "yield", TESTS)
    with pytest.raises(MutationError, match=r"missing: the original snippet occurs 0 times(.|\n)*twice: the original snippet occurs 2 times"):
        run([missing, twice], root)


def test_red_tests_before_any_mutation_stop_the_run(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "tests/test_policy.py").write_text("def test_red() -> None:\n    assert False\n")
    with pytest.raises(MutationError, match="the unmutated tests fail"):
        run([FLOOR], root, timeout=120)


def test_the_project_s_mutations_apply_and_cover_the_security_areas() -> None:
    root = Path(__file__).resolve().parents[2]
    runner.check(MUTATIONS, root)
    assert len(MUTATIONS) >= 40
    files = {m.file for m in MUTATIONS}
    for area in (
        "constructs/alert_topic.py", "constructs/hipaa_config_rules.py", "constructs/macie_quarantine.py", "constructs/phi_bucket_rule.py",
        "constructs/purpose_key.py",
        "constructs/three_tier_vpc.py", "stacks/config/data.py", "stacks/config/errors.py", "service/medivault_service/readiness.py",
        "lambda/mv_findings_notifier/dal.py", "lambda/mv_macie_quarantine/dal.py", "lambda/mv_dr_readiness/logic.py",
        "stacks/config/evidence.py", "stacks/config/audit.py", "stacks/config/backup.py",
    ):  # fmt: skip
        assert area in files, area
