"""Build the MediVault app from typed configs; shared by ``app.py`` and the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from constructs.compliance import add_compliance_gates, write_acknowledgments_to_templates
from constructs.deploy_guard import refuse_deploy

from stacks.config import EnvironmentConfig
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


def populate(app: cdk.App, configs: list[EnvironmentConfig]) -> dict[str, MediVaultStage]:
    """Add the compliance gates and one stage per environment."""
    add_compliance_gates(app)
    stages = {config.name: MediVaultStage(app, config=config) for config in configs}
    for stage in stages.values():
        write_acknowledgments_to_templates(stage)
        guard_placeholders(stage, stage.config)
        add_deploy_outputs(stage)
    return stages


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


def add_pipeline(app: cdk.App, *, config: PipelineConfig, sandbox: EnvironmentConfig, production: EnvironmentConfig) -> PipelineStack:
    """Add the delivery pipeline (R16), which holds its own sandbox and production stages.

    The gates cover it like every other stack (its two stages included); acknowledgments are
    written into the templates of the pipeline, its replication stacks and its two stages. Call
    ``add_compliance_gates`` (``populate`` does) once per app: the plugins see the whole assembly.
    """
    # A hardened artifact replication bucket in every other region the stages deploy to.
    regions = sorted({r for env in (sandbox, production) for r in (env.primary_region, env.dr_region, env.edge_region)} - {config.region})
    replication = {region: PipelineReplicationStack(app, f"PipelineReplication-{region}", config=config, region=region) for region in regions}
    pipeline = PipelineStack(
        app, "Pipeline", config=config, sandbox=sandbox, production=production, replication_buckets={r: s.bucket for r, s in replication.items()}
    )
    for stack in replication.values():
        pipeline.add_stack_dependency(stack, reason="the pipeline names the replication buckets and keys in its artifact stores")
    # Top-level stacks of the app: the pipeline stack and its replication stacks.
    # (The pipeline's two stages get theirs inside PipelineStack, before add_stage synthesizes them.)
    write_acknowledgments_to_templates(app)
    return pipeline


def populate_organization(app: cdk.App, config: OrganizationConfig) -> OrganizationStage:
    """Add the optional organisation stage (management account); call after ``populate``, which
    adds the compliance gates once for the whole app."""
    stage = OrganizationStage(app, config=config)
    write_acknowledgments_to_templates(stage)
    return stage
