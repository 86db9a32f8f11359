"""cfn-lint over every synthesized template: no errors, no warnings.

Ignores are only per resource (``Metadata.cfn-lint``), each placed with its reason in the code.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import Synthesized
from tests.conftest import cfn_lint_command as _lint_command

pytestmark = pytest.mark.requirements("R16")


def _templates(outdir: Path) -> list[str]:
    return sorted(str(p) for p in outdir.rglob("*.template.json"))


def _lint(templates: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_lint_command(templates), capture_output=True, text=True, timeout=600, check=False)


def test_cfn_lint_clean(synth: Synthesized) -> None:
    templates = _templates(synth.outdir)
    assert len(templates) >= 4
    # The session fixture started cfn-lint over exactly these templates in the background (tests/conftest.py Lint).
    assert synth.lint is not None and synth.lint.templates == templates
    result = synth.lint.result()
    assert result.args == _lint_command(templates)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_would_catch_a_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.template.json"
    bad.write_text('{"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": "soon"}}}}')
    assert _lint([str(bad)]).returncode != 0
