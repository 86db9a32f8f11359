"""Thin stacks of the organisation's management account (R3, R1): guardrails and Identity Center.

- ``GuardrailsStack`` (us-east-1): the OUs and the service control policies. AWS Organizations is a
  global service whose API lives in us-east-1; keeping its CloudFormation stack there follows the
  API. It holds organisation metadata only, no customer data.
- ``IdentityCenterStack`` (the Identity Center home region, eu-central-1): permission sets and
  group-to-account assignments, which IAM Identity Center accepts only in its home region.

Both get termination protection: deleting either would strip every account of its guardrails or
every person of their access. While config holds review placeholders, each carries a
CloudFormation rule that refuses the deploy before anything is created.
"""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_organizations as organizations
from constructs import Construct
from constructs.deploy_guard import refuse_deploy
from constructs.permission_sets import (
    BreakGlass,
    GroupAssignment,
    PermissionSets,
    PermissionSetSettings,
    PhiMarkers,
    break_glass_principals,
)
from constructs.service_control_policies import ScpSettings, ServiceControlPolicies
from constructs.traceability import trace

from stacks.config.environment import DR_REGION, EDGE_REGION, PRIMARY_REGION
from stacks.config.organization import ROOT_TARGET, OrganizationConfig

# --- the organisation config as the constructs' settings (constructs never import stacks/config) ---


def phi_markers(config: OrganizationConfig) -> PhiMarkers:
    return PhiMarkers(
        tag_key=config.phi_tag_key,
        tag_value=config.phi_tag_value,
        bucket_name_patterns=config.phi_bucket_name_patterns,
        key_alias_pattern=config.phi_key_alias_pattern,
    )


def break_glass(config: OrganizationConfig) -> BreakGlass:
    return BreakGlass(role_path=config.break_glass_role_path, role_name=config.break_glass_role_name)


def scp_settings(config: OrganizationConfig) -> ScpSettings:
    return ScpSettings(
        allowed_regions=(PRIMARY_REGION, DR_REGION),
        edge_region=EDGE_REGION,
        delivery_role_path=config.delivery_role_path,
        break_glass=break_glass(config),
        phi=phi_markers(config),
    )


def permission_set_settings(config: OrganizationConfig) -> PermissionSetSettings:
    return PermissionSetSettings(
        instance_arn=config.instance_arn,
        production_accounts=tuple(config.accounts_of(("production",))),
        sandbox_accounts=tuple(config.accounts_of(("sandbox",))),
        session_durations=dict(config.session_durations),
        assignments=tuple(
            GroupAssignment(permission_set=a.permission_set, group_id=a.group_id, accounts=tuple(config.accounts_of(a.organizational_units)))
            for a in config.assignments
        ),
        phi=phi_markers(config),
        phi_access_role_path=config.phi_access_role_path,
        developer_log_group_patterns=config.developer_log_group_patterns,
        evidence_log_group_patterns=config.evidence_log_group_patterns,
    )


class OrganizationBaseStack(cdk.Stack):
    """A stack of the management account: its environment, tags, termination protection, guard."""

    def __init__(self, scope: Construct, construct_id: str, *, config: OrganizationConfig, region: str, description: str) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=config.management_account, region=region),
            description=f"MediVault EU (organization): {description}",
            termination_protection=True,
        )
        self.config = config
        cdk.Tags.of(self).add("project", "medivault-eu")
        cdk.Tags.of(self).add("environment", "organization")
        left = config.placeholders()
        if left:
            refuse_deploy(
                self,
                "RefusePlaceholderDeploy",
                message="MediVault organization stage still holds review placeholders; configure "
                + ", ".join(sorted({re.sub(r"\[\d+\]", "[*]", key) for key in left}))
                + " (stacks/config/organization.py, docs/identity.md) before deploying.",
            )


class GuardrailsStack(OrganizationBaseStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrganizationConfig) -> None:
        super().__init__(scope, construct_id, config=config, region=EDGE_REGION, description="organizational units and service control policies")
        self.organizational_units = {
            key: organizations.CfnOrganizationalUnit(self, f"{key.capitalize()}Ou", name=ou.name, parent_id=config.root_id)
            for key, ou in config.organizational_units.items()
        }
        target_ids = {ROOT_TARGET: config.root_id, **{key: ou.attr_id for key, ou in self.organizational_units.items()}}
        self.scps = ServiceControlPolicies(
            self,
            "Scps",
            settings=scp_settings(config),
            break_glass_principals=break_glass_principals(break_glass(config)),
            attachments={key: [target_ids[target] for target in targets] for key, targets in config.scp_targets.items()},
        )
        trace(
            self.scps.policies["deny_outside_eu_regions"],
            ["R1"],
            ["security"],
            "No member account can use any region but eu-central-1 and eu-west-1 (us-east-1 only for the CloudFront edge).",
        )
        for key in ("deny_root_user", "deny_iam_users_and_keys", "deny_leaving_organization"):
            trace(
                self.scps.policies[key],
                ["R3"],
                ["security"],
                "Only named people through Identity Center act in member accounts: no root, no IAM users.",
            )
        trace(
            self.scps.policies["protect_security_services"],
            ["R12", "R14", "R3"],
            ["security"],
            "Nobody but break-glass can stop or delete the trail, Config, GuardDuty, Macie, Security Hub or vault locks.",
        )
        trace(
            self.scps.policies["protect_phi_storage"],
            ["R7"],
            ["security"],
            "PHI buckets and keys cannot be deleted or disabled, nor their Object Lock, versioning or key policy changed by people.",
        )
        trace(
            self.scps.policies["protect_privileged_roles"],
            ["R3"],
            ["security"],
            "The break-glass, CDK bootstrap and delivery roles the SCPs exempt cannot be created, re-trusted or passed by anyone else.",
        )


class IdentityCenterStack(OrganizationBaseStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrganizationConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=config.identity_center_region,
            description="IAM Identity Center permission sets and group assignments",
        )
        self.permission_sets = PermissionSets(self, "PermissionSets", settings=permission_set_settings(config))
        trace(
            self.permission_sets,
            ["R3"],
            ["security"],
            "People get short-lived, least-privilege roles per group from Identity Center; PHI is denied to all but the PHI set's app roles.",
        )
