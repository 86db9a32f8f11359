"""Shared fixtures: the whole app is synthesized once per test session, gates included."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks import config as cfg
from stacks.app_factory import new_app, populate
from stacks.stage import MediVaultStage

CONCRETE_ACCOUNTS = {"sandbox": "123456789012", "production": "210987654321"}


@dataclass
class Synthesized:
    """One synthesized app: its stages (by environment name), its cloud assembly directory."""

    app: cdk.App
    stages: dict[str, MediVaultStage]
    outdir: Path
    _templates: dict[str, Template]

    def template(self, environment: str, stack: str) -> Template:
        """``stack`` is the attribute name of the stack on the stage, e.g. ``network``."""
        key = f"{environment}/{stack}"
        if key not in self._templates:
            self._templates[key] = Template.from_stack(getattr(self.stages[environment], stack))
        return self._templates[key]

    def stack(self, environment: str, stack: str) -> cdk.Stack:
        result: cdk.Stack = getattr(self.stages[environment], stack)
        return result


def synthesize(outdir: Path, accounts: dict[str, str | None]) -> Synthesized:
    app = new_app(outdir=str(outdir))
    stages = populate(app, [cfg.load(name, account) for name, account in accounts.items()])
    app.synth()  # raises ValidationFailed on any unacknowledged compliance finding
    return Synthesized(app=app, stages=stages, outdir=outdir, _templates={})


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Both environments with concrete 12-digit accounts: acknowledgments must still match."""
    return synthesize(tmp_path_factory.mktemp("cdk-concrete"), dict(CONCRETE_ACCOUNTS))


@pytest.fixture(scope="session")
def agnostic(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Both environments env-agnostic (account left to deploy time)."""
    return synthesize(tmp_path_factory.mktemp("cdk-agnostic"), {name: None for name in cfg.ENVIRONMENT_NAMES})


@pytest.fixture(params=cfg.ENVIRONMENT_NAMES)
def environment(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def resources_of(template: Template, resource_type: str) -> dict[str, dict]:  # type: ignore[type-arg]
    found: dict[str, dict] = template.find_resources(resource_type)  # type: ignore[type-arg]
    return found
