"""Build the MediVault app from typed configs; shared by ``app.py`` and the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from constructs.compliance import add_compliance_gates, write_acknowledgments_to_templates

from stacks.config import EnvironmentConfig
from stacks.config.organization import OrganizationConfig
from stacks.organization_stage import OrganizationStage
from stacks.stage import MediVaultStage

ROOT = Path(__file__).resolve().parent.parent


def cdk_json_context() -> dict[str, Any]:
    """The feature flags in cdk.json. The CDK CLI passes them itself; a bare ``python app.py`` or a
    test does not, and without them the templates would differ from what ``cdk synth`` produces."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def new_app(*, outdir: str | None = None, context: dict[str, Any] | None = None) -> cdk.App:
    return cdk.App(outdir=outdir, context={**cdk_json_context(), **(context or {})})


def populate(app: cdk.App, configs: list[EnvironmentConfig]) -> dict[str, MediVaultStage]:
    """Add the compliance gates and one stage per environment."""
    add_compliance_gates(app)
    stages = {config.name: MediVaultStage(app, config=config) for config in configs}
    for stage in stages.values():
        write_acknowledgments_to_templates(stage)
    return stages


def populate_organization(app: cdk.App, config: OrganizationConfig) -> OrganizationStage:
    """Add the optional organisation stage (management account); call after ``populate``, which
    adds the compliance gates once for the whole app."""
    stage = OrganizationStage(app, config=config)
    write_acknowledgments_to_templates(stage)
    return stage
