"""Test-only: a stage with a minimal stand-in of the app tier (ALB + origin secret) and the EdgeStack.

The real app tier (AppStack) is built on another branch; until it is wired into the stage this
lets the edge be synthesized, gated and linted against a real ALB and secret in another stack.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs.compliance import acknowledge

from stacks import config as cfg
from stacks.app_factory import new_app, populate
from stacks.base import MediVaultStack
from stacks.config.domain import DomainConfig
from stacks.edge_stack import EdgeStack
from stacks.stage import MediVaultStage

ORIGIN_HEADER = "X-Origin-Verify"
DOMAIN = DomainConfig(domain_name="app.medivault.example", hosted_zone_id="Z0123456789ABCDEFGHIJ", hosted_zone_name="medivault.example")
TEST_ONLY = "Test-only stand-in for the app tier's ALB; the real AppStack is gated and linted on its own branch."


class StandInApp(MediVaultStack):
    """What AppStack exposes: ``load_balancer``, ``origin_secret``, ``origin_header_name``."""

    def __init__(self, stage: MediVaultStage) -> None:
        super().__init__(stage, "StandInApp", config=stage.config, region=stage.config.primary_region, description="test stand-in app tier")
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=stage.network.vpc,
            internet_facing=True,
            security_group=stage.network.alb_security_group,
            deletion_protection=True,
            drop_invalid_header_fields=True,
        )
        listener = self.load_balancer.add_listener(
            "Https",
            port=443,
            certificates=[acm.Certificate.from_certificate_arn(self, "Cert", f"arn:aws:acm:eu-central-1:{self.account}:certificate/test")],
            default_action=elbv2.ListenerAction.fixed_response(403),
            open=False,
        )
        self.origin_header_name = ORIGIN_HEADER
        self.origin_secret = secretsmanager.Secret(
            self,
            "OriginSecret",
            encryption_key=stage.keys.data_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=48),
        )
        for rule in ("AwsSolutions-ELB2", "HIPAA.Security-ELBLoggingEnabled"):
            acknowledge(self.load_balancer, rule, TEST_ONLY)
        for rule in ("AwsSolutions-SMG4", "HIPAA.Security-SecretsManagerRotationEnabled"):
            acknowledge(self.origin_secret, rule, TEST_ONLY)
        del listener


@dataclass
class EdgeSynth:
    app: cdk.App
    stages: dict[str, MediVaultStage]
    # The stand-in app stacks, or the real AppStack once the stage wires one (same attributes).
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
        if hasattr(stage, "edge"):  # the stage wires the real app tier and edge: test those
            stand_ins[name], edges[name] = stage.app, stage.edge
            continue
        stand_ins[name] = StandInApp(stage)
        edges[name] = EdgeStack(
            stage,
            "Edge",
            config=stage.config,
            load_balancer=stand_ins[name].load_balancer,
            origin_secret=stand_ins[name].origin_secret,
            origin_header_name=stand_ins[name].origin_header_name,
            web_acl=stage.edge_global.web_acl,
            certificate=stage.edge_global.certificate,
        )
    app.synth()  # gates: raises ValidationFailed on any unacknowledged finding
    return EdgeSynth(app=app, stages=stages, stand_ins=stand_ins, edges=edges, outdir=outdir)
