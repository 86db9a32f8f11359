"""The requirement statuses come from one source (tools/report/status.py) for the docs and the report."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from catalog import REQUIREMENTS
from tools.report import status

pytestmark = pytest.mark.requirements("R16")


def test_the_docs_table_is_the_one_generated_from_the_source() -> None:
    assert status.docs_block(status.DOC.read_text()) == status.markdown_table()


def test_the_docs_table_states_every_status_of_the_source() -> None:
    """Independent of markdown_table(): each row of the docs table names the source's status for that id."""
    block = status.docs_block(status.DOC.read_text())
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1] for line in block.splitlines()[2:]}
    assert rows == {rid: f"**{s.status}**" for rid, s in status.STATUS.items()}


def test_write_docs_replaces_only_the_generated_block(tmp_path: Path) -> None:
    doc = tmp_path / "requirements.md"
    doc.write_text(f"# Title\n\nbefore\n\n{status.BEGIN}\n| stale |\n{status.END}\n\nafter\n")
    assert status.write_docs(doc) is True
    text = doc.read_text()
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith("\n\nafter\n")
    assert status.docs_block(text) == status.markdown_table()
    assert status.write_docs(doc) is False


def test_write_docs_without_markers_fails_clearly(tmp_path: Path) -> None:
    doc = tmp_path / "requirements.md"
    doc.write_text("# no table\n")
    with pytest.raises(ValueError, match="no generated status table"):
        status.write_docs(doc)


def test_the_known_gaps_are_not_reported_as_done() -> None:
    """MFA (R3), Audit Manager off (R14), the manual eu-west-1 restore (R15): docs/requirements.md's own words."""
    for rid, word in (("R3", "MFA"), ("R14", "Audit Manager"), ("R15", "manual runbook")):
        assert status.STATUS[rid].status == "partial"
        assert any(word in item for item in status.STATUS[rid].missing), rid
    assert status.STATUS["R14"].absent == ("AWS::AuditManager::Assessment",)


def test_every_requirement_has_one_consistent_status() -> None:
    status.check()
    assert sorted(status.STATUS) == sorted(REQUIREMENTS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "implemented"}, "allowed: done, partial, not done, process"),
        ({"status": "done", "missing": ("x",)}, "is done but lists missing work"),
        ({"status": "partial", "missing": ()}, "says nothing is missing"),
        ({"status": "process", "missing": (), "process": ()}, "names no documented decision"),
    ],
)
def test_an_inconsistent_claim_is_refused(monkeypatch: pytest.MonkeyPatch, change: dict[str, object], message: str) -> None:
    broken = dict(status.STATUS)
    broken["R14"] = dataclasses.replace(status.STATUS["R14"], **change)  # type: ignore[arg-type]
    monkeypatch.setattr(status, "STATUS", broken)
    with pytest.raises(ValueError, match=message):
        status.check()
