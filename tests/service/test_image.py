"""The container definition: pinned base and dependencies, non-root, health check, read-only root."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.requirements("R4", "R10")

SERVICE = Path(__file__).resolve().parents[2] / "service"


def _dockerfile() -> str:
    return (SERVICE / "Dockerfile").read_text()


def test_base_image_is_a_patch_tag_pinned_by_digest() -> None:
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", _dockerfile(), re.M)
    assert re.fullmatch(r"public\.ecr\.aws/docker/library/python:\d+\.\d+\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base), (
        "the base image must be pinned by digest"
    )
    assert all(line.split()[1] == "${PYTHON_IMAGE}" for line in re.findall(r"^FROM .*$", _dockerfile(), re.M))


def test_runs_as_numeric_non_root_user_with_health_check() -> None:
    text = _dockerfile()
    final_stage = text.rsplit("FROM ", 1)[1]
    assert re.search(r"^USER 10001:10001$", final_stage, re.M)
    assert "HEALTHCHECK" in final_stage and "/healthz" in final_stage
    # Read-only root file system: nothing is written at run time.
    assert "PYTHONDONTWRITEBYTECODE=1" in final_stage and "compileall" in text


def test_requirements_pinned_and_same_as_the_test_environment() -> None:
    lines = [ln for ln in (SERVICE / "requirements.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    pins = dict(ln.split("==") for ln in lines)
    assert all(re.fullmatch(r"[\w.-]+==\d[\w.]*", ln) for ln in lines), lines
    project = tomllib.loads((SERVICE.parent / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[\[=]", d)[0]: d.split("==")[1] for d in project["dependencies"] + project["optional-dependencies"]["dev"] if "==" in d}
    for name, version in pins.items():
        assert declared.get(name) == version, f"{name}: service {version}, pyproject {declared.get(name)}"
