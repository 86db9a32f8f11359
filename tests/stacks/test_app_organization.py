"""app.py builds the organisation stage by default, skips it on request, takes its account override."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.stacks.test_synth import _run_app

pytestmark = pytest.mark.requirements("R3")


def _stack_environments(outdir: Path) -> dict[str, str]:
    manifest = json.loads((outdir / "assembly-Organization" / "manifest.json").read_text())
    return {a["displayName"]: a["environment"] for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"}


def test_organization_flag_must_be_true_or_false(tmp_path: Path) -> None:
    result = _run_app({"organization": "maybe"}, tmp_path)
    assert result.returncode != 0
    assert "medivault: invalid configuration: organization: 'maybe' is not allowed; allowed: true, false" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_organization_account_fails_with_one_clear_line(tmp_path: Path) -> None:
    result = _run_app({"organization_account": "12345"}, tmp_path)
    assert result.returncode != 0
    assert "organization.management_account: '12345' is not an AWS account ID" in result.stderr
    assert "Traceback" not in result.stderr


def test_organization_stage_uses_the_given_accounts(tmp_path: Path) -> None:
    # Without the pipeline (which would build both environment stages): the organisation stage is what is checked.
    result = _run_app(
        {"environments": "sandbox", "pipeline": "false", "organization_account": "345678901234", "sandbox_account": "123456789012"}, tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert _stack_environments(tmp_path) == {
        "Organization/Guardrails": "aws://345678901234/us-east-1",
        "Organization/IdentityCenter": "aws://345678901234/eu-central-1",
    }
    template = json.loads(next((tmp_path / "assembly-Organization").glob("OrganizationIdentityCenter*.template.json")).read_text())
    targets = {r["Properties"]["TargetId"] for r in template["Resources"].values() if r["Type"] == "AWS::SSO::Assignment"}
    assert "123456789012" in targets and "111111111111" not in targets


def test_organization_stage_can_be_skipped(tmp_path: Path) -> None:
    result = _run_app({"environments": "sandbox", "pipeline": "false", "organization": "false"}, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "assembly-Sandbox").is_dir()  # the app was built, with the sandbox stage at the top (no pipeline)
    assert not (tmp_path / "assembly-Organization").exists()
