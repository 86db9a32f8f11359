"""Compliance gates (cdk-nag v3 as CDK policy validation) and narrow acknowledgments."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, WriteNagSuppressionsToCloudFormationAspect
from constructs import IConstruct

# A reason must say why the finding does not apply or what compensates, not just "not needed".
MIN_REASON_LENGTH = 40
# cdk-nag packs, and aws-cdk-lib's built-in CloudFormation validation (cfn-lint rule ids).
RULE_PREFIXES = ("AwsSolutions-", "HIPAA.Security-", "CloudFormation-Validate::")


def add_compliance_gates(app: cdk.App) -> None:
    """Every stack of every stage is checked; any unacknowledged finding makes synth fail.

    Violations land in ``<outdir>/validation-report.json``. Every acknowledgment is also written
    into the template (``Metadata.cdk_nag.rules_to_suppress`` with its reason) so an auditor reading
    only CloudFormation sees what was accepted and why.
    """
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app))


def write_acknowledgments_to_templates(app: cdk.App) -> list[cdk.Stage]:
    """Copy acknowledgments into each resource's ``Metadata.cdk_nag`` (cdk-nag v2 format), in every
    template of ``app``: its own stacks and those of every stage it holds. Returns the stages covered.

    Aspects do not cross Stage boundaries, so cdk-nag's own ``write_suppressions_to_cloud_formation``
    on the app never reaches the stacks inside our stages: the aspect is added to the app and to
    every stage (in the app, in a stage, or in a top-level stack such as the pipeline's). Call it once,
    after the stages exist and before anything synthesizes one (``stacks.composition.compose`` does);
    constructs added to those scopes later are covered, stages added later are not.
    """
    stages: list[cdk.Stage] = []
    # Where stages sit: in the app, in a stage, or in a top-level stack (the pipeline's). No deeper.
    top_stacks = [child for child in app.node.children if isinstance(child, cdk.Stack)]
    todo: list[IConstruct] = [app, *top_stacks]
    while todo:
        for child in todo.pop().node.children:
            if isinstance(child, cdk.Stage):
                stages.append(child)
                todo.append(child)
    for scope in [app, *stages]:
        cdk.Aspects.of(scope).add(WriteNagSuppressionsToCloudFormationAspect())
    return stages


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one nag rule on one construct (and its children), with a specific reason.

    Put it on the narrowest construct that raises the finding, next to where it is created.
    """
    if not rule_id.startswith(RULE_PREFIXES):
        raise ValueError(f"acknowledge: {rule_id!r} is not a rule id of {', '.join(RULE_PREFIXES)}")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"acknowledge {rule_id}: the reason must be specific (at least {MIN_REASON_LENGTH} characters)")
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def ignore_cfn_lint(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Tell cfn-lint (run over cdk.out by ``make test``) and CDK's built-in validation to skip one
    rule on one resource. ``construct`` must be (or wrap) a CfnResource."""
    resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        raise ValueError(f"ignore_cfn_lint: {construct.node.path} is not a CloudFormation resource")
    acknowledge(resource, f"CloudFormation-Validate::{rule_id}", reason)
    # Several rules may be ignored on one resource: add to the list rather than replace it.
    existing = resource.get_metadata("cfn-lint") or {}
    checks = [*existing.get("config", {}).get("ignore_checks", []), rule_id]
    resource.add_metadata("cfn-lint", {"config": {"ignore_checks": checks}})
