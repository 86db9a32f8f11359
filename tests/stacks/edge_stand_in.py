"""Test-only: the stages with a configured domain (production) and without (sandbox), for the edge tests.

The stages are the real ``MediVaultStage`` (AppStack's ALB and origin secret, EdgeGlobal, Edge);
only production's config gains a domain, so both the custom-certificate and the review case are
synthesized, gated and linted in one app.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from stacks import config as cfg
from stacks.composition import new_app, populate
from stacks.config.domain import DomainConfig
from stacks.edge_stack import EdgeStack
from stacks.stage import MediVaultStage

DOMAIN = DomainConfig(domain_name="app.medivault.example", hosted_zone_id="Z0123456789ABCDEFGHIJ", hosted_zone_name="medivault.example")


@dataclass
class EdgeSynth:
    app: cdk.App
    stages: dict[str, MediVaultStage]
    # The app tier (AppStack) of each stage: what the edge takes its ALB and origin secret from.
    stand_ins: dict[str, Any]
    edges: dict[str, EdgeStack]
    outdir: Path


def synthesize_with_stand_in(outdir: Path, accounts: dict[str, str | None]) -> EdgeSynth:
    """Production with a configured domain, sandbox without (the review placeholder)."""
    app = new_app(outdir=str(outdir))
    configs = [cfg.load(name, account) for name, account in accounts.items()]
    configs = [dataclasses.replace(c, domain=DOMAIN) if c.is_production else c for c in configs]
    stages = populate(app, configs)
    stand_ins: dict[str, Any] = {}
    edges: dict[str, EdgeStack] = {}
    for name, stage in stages.items():
        stand_ins[name], edges[name] = stage.app, stage.edge
    app.synth()  # gates: raises ValidationFailed on any unacknowledged finding
    return EdgeSynth(app=app, stages=stages, stand_ins=stand_ins, edges=edges, outdir=outdir)
