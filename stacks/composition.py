"""Build the MediVault app from typed configs; shared by ``app.py`` and the tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from constructs.compliance import add_compliance_gates, write_acknowledgments_to_templates
from constructs.deploy_guard import refuse_deploy

from stacks.config import ENVIRONMENT_NAMES, EnvironmentConfig
from stacks.config.organization import OrganizationConfig
from stacks.config.pipeline import PipelineConfig
from stacks.organization_stage import OrganizationStage
from stacks.pipeline_replication_stack import PipelineReplicationStack
from stacks.pipeline_stack import PipelineStack
from stacks.stage import MediVaultStage

ROOT = Path(__file__).resolve().parent.parent


def cdk_json_context() -> dict[str, Any]:
    """The feature flags in cdk.json. The CDK CLI passes them itself; a bare ``python app.py`` or a
    test does not, and without them the templates would differ from what ``cdk synth`` produces."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def new_app(*, outdir: str | None = None, context: dict[str, Any] | None = None) -> cdk.App:
    return cdk.App(outdir=outdir, context={**cdk_json_context(), **(context or {})})


@dataclass(frozen=True)
class Composition:
    """What :func:`compose` built: every environment stage once, the organisation, the pipeline."""

    app: cdk.App
    stages: dict[str, MediVaultStage]  # by environment name: the pipeline's stages when there is a pipeline
    organization: OrganizationStage | None = None
    pipeline: PipelineStack | None = None
    replication: tuple[PipelineReplicationStack, ...] = ()


def compose(
    app: cdk.App,
    *,
    environments: Sequence[EnvironmentConfig],
    organization: OrganizationConfig | None = None,
    pipeline: PipelineConfig | None = None,
) -> Composition:
    """The one place that composes MediVault: ``app.py``, ``tools/bench.py`` and the tests call it.

    Each environment stage is built once. With a ``pipeline``, the pipeline holds the stages
    (``Pipeline/Sandbox/*``, ``Pipeline/Production/*``: the stacks it deploys, under the same
    CloudFormation names ``Sandbox-Keys`` ...) and ``environments`` must be both environments;
    without one, each stage sits at the top of the app (``Sandbox/*``: what ``make deploy-sandbox``
    deploys). Every stage gets the placeholder guards and the deploy outputs; the compliance gates
    cover the whole assembly, and acknowledgments are written into every template
    (:func:`write_acknowledgments_to_templates`, called here only).
    """
    add_compliance_gates(app)
    pipeline_stack: PipelineStack | None = None
    replication: tuple[PipelineReplicationStack, ...] = ()
    if pipeline is None:
        stages = {config.name: MediVaultStage(app, config=config) for config in environments}
    else:
        by_name = {config.name: config for config in environments}
        if sorted(by_name) != sorted(ENVIRONMENT_NAMES) or len(environments) != len(ENVIRONMENT_NAMES):
            raise ValueError(f"compose: the pipeline deploys {' and '.join(ENVIRONMENT_NAMES)}: give each environment once")
        pipeline_stack, replication = _pipeline(app, config=pipeline, sandbox=by_name["sandbox"], production=by_name["production"])
        stages = {"sandbox": pipeline_stack.sandbox_stage, "production": pipeline_stack.production_stage}
    org_stage = OrganizationStage(app, config=organization) if organization is not None else None
    for stage in stages.values():
        guard_placeholders(stage, stage.config)
        add_deploy_outputs(stage)
    # Before the pipeline is built: CDK Pipelines' add_stage synthesizes each stage at once.
    write_acknowledgments_to_templates(app)
    if pipeline_stack is not None:
        pipeline_stack.build_pipeline()
    return Composition(app=app, stages=stages, organization=org_stage, pipeline=pipeline_stack, replication=replication)


def populate(app: cdk.App, configs: list[EnvironmentConfig]) -> dict[str, MediVaultStage]:
    """The environment stages alone, at the top of the app (gates included): ``compose(app, environments=configs).stages``."""
    return compose(app, environments=configs).stages


def add_deploy_outputs(stage: MediVaultStage) -> dict[str, cdk.CfnOutput]:
    """Named outputs ``cdk deploy --outputs-file`` writes and tools/sandbox/smoke.py reads: the URL,
    the ALB, the PHI buckets, the trail, the topics, the dashboard and the backup plan. Each sits in
    the stack that owns the resource, so no output adds a cross-stack reference."""
    domain = stage.config.domain
    site = f"https://{domain.domain_name}/" if domain else f"https://{stage.edge.distribution.distribution_domain_name}/"
    values: dict[str, tuple[cdk.Stack, str, str]] = {
        "SiteUrl": (stage.edge, site, "the site, through CloudFront"),
        "DistributionId": (stage.edge, stage.edge.distribution.distribution_id, "the CloudFront distribution"),
        "AlbDnsName": (stage.app, stage.app.load_balancer.load_balancer_dns_name, "the ALB (refuses requests without the origin header)"),
        "PhiBucketNames": (stage.data, cdk.Fn.join(",", [b.bucket_name for b in stage.data.phi_buckets]), "the PHI buckets"),
        "TrailName": (stage.audit, stage.audit.trail_name, "the CloudTrail trail"),
        "SecurityTopicArn": (stage.audit, stage.audit.security_topic.topic_arn, "security findings (e-mail)"),
        "AlarmTopicArn": (stage.observability, stage.observability.ops_topic.topic_arn, "operational alarms (e-mail)"),
        "DashboardName": (stage.observability, stage.observability.dashboard.dashboard_name, "the CloudWatch dashboard"),
        "BackupPlanId": (stage.backup, stage.backup.plan.backup_plan_id, "the AWS Backup plan"),
        "PrimaryVaultName": (stage.backup, stage.backup.vault.backup_vault_name, "the primary backup vault (eu-central-1)"),
        "DrVaultName": (stage.dr_vault, stage.dr_vault.vault.backup_vault_name, "the DR backup vault (eu-west-1)"),
    }
    return {key: cdk.CfnOutput(stack, key, value=value, description=description) for key, (stack, value, description) in values.items()}


def placeholder_message(config: EnvironmentConfig) -> str | None:
    """Why a stage built from ``config`` must not be deployed, or None when nothing is a placeholder."""
    settings = [f"{config.name}_{setting}" for setting, _ in config.placeholders()]
    if not settings:
        return None
    return (
        f"MediVault {config.name}: review placeholders left ({', '.join(settings)}). Set each with -c <setting>=... or "
        f"MEDIVAULT_<SETTING> and deploy with `make deploy-{config.name}` (docs/deploy.md), which refuses placeholders at synth."
    )


def guard_placeholders(stage: cdk.Stage, config: EnvironmentConfig) -> list[cdk.CfnRule]:
    """Every stack of a stage with review placeholders refuses to deploy, the first (Keys) included.

    ``app.py -c deploy=true`` (``make deploy-sandbox``) already refuses such a synth. This rule is
    the backstop for a plain ``cdk deploy`` of the review assembly: CloudFormation evaluates rules
    when it creates the change set, so the first stack fails before any resource of any stack
    exists (a guard in the App or Edge stack would let Keys, Network and Data deploy first).
    """
    message = placeholder_message(config)
    if message is None:
        return []
    return [refuse_deploy(stack, "RefusePlaceholders", message=message) for stack in stage.node.children if isinstance(stack, cdk.Stack)]


def _pipeline(
    app: cdk.App, *, config: PipelineConfig, sandbox: EnvironmentConfig, production: EnvironmentConfig
) -> tuple[PipelineStack, tuple[PipelineReplicationStack, ...]]:
    """The delivery pipeline (R16) with its two stages (not yet built: ``PipelineStack.build_pipeline``),
    and a hardened artifact replication bucket stack in every other region the stages deploy to."""
    regions = sorted({r for env in (sandbox, production) for r in (env.primary_region, env.dr_region, env.edge_region)} - {config.region})
    replication = {region: PipelineReplicationStack(app, f"PipelineReplication-{region}", config=config, region=region) for region in regions}
    pipeline = PipelineStack(
        app, "Pipeline", config=config, sandbox=sandbox, production=production, replication_buckets={r: s.bucket for r, s in replication.items()}
    )
    for stack in replication.values():
        pipeline.add_stack_dependency(stack, reason="the pipeline names the replication buckets and keys in its artifact stores")
    return pipeline, tuple(replication.values())
