"""Service control policies of the MediVault organisation (R3, R1), generated as Python data.

Each SCP is small, named and documented (docs/identity.md); ``scp_documents`` builds them from
``ScpSettings`` (the organisation stack maps its config onto them), ``validate_scp`` checks what
AWS Organizations would reject (JSON, the 5,120-character limit counted on the minified text,
Deny-only statements with Sids), and
``ServiceControlPolicies`` turns them into ``AWS::Organizations::Policy`` resources attached to
the root or OUs the stack names.

SCPs never grant anything and never apply to the management account or to service-linked roles;
they cap what every principal in a member account can do, the account root user included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_organizations as organizations
from constructs import Construct
from constructs.permission_sets import BreakGlass, PhiMarkers

SCP_MAX_CHARACTERS = 5120  # AWS Organizations quota for one SCP document (minified, whitespace excluded)

# Global services: their API lives in (or is reported as) us-east-1, whatever region the resource
# serves, so a region deny without them would lock people out of IAM, billing, support and the
# console. None of them stores customer data in a region (docs/identity.md lists why each is here).
GLOBAL_SERVICE_ACTIONS: tuple[str, ...] = (
    "iam:*",  # IAM is global; its endpoint is in us-east-1
    "organizations:*",  # global; endpoint in us-east-1
    "account:*",  # account settings, alternate contacts, opt-in regions
    "sts:*",  # the global STS endpoint (sts.amazonaws.com) is reported as us-east-1
    "sso:*",  # IAM Identity Center portal and console calls
    "cloudfront:*",  # global; control plane in us-east-1
    "route53:*",  # global DNS; control plane in us-east-1
    "route53domains:*",  # domain registration, us-east-1 only
    "shield:*",  # Shield Standard/Advanced for CloudFront, global
    "support:*",  # AWS Support, global (us-east-1)
    "trustedadvisor:*",  # global
    "health:*",  # AWS Health global endpoint (us-east-1)
    "budgets:*",  # Budgets is global
    "ce:*",  # Cost Explorer, us-east-1 only
    "cur:*",  # Cost and Usage Reports, us-east-1 only
    "aws-portal:*",  # billing console
    "billing:*",  # billing console
    "pricing:*",  # Price List API
    "s3:ListAllMyBuckets",  # the S3 console lists buckets through us-east-1
    "s3:GetAccountPublicAccessBlock",  # account-level setting, read through us-east-1 by the console
    "ec2:DescribeRegions",  # the console's region picker
)

# Edge services: allowed in us-east-1 to every principal, because CloudFront forces the edge
# stack's resources there and they hold no customer data: the CLOUDFRONT-scoped WAF web ACL, the
# CloudFront ACM certificate, CloudFront's metrics and alarms (CloudWatch). CloudFront, Route 53 and
# Shield are global services above.
EDGE_SERVICE_ACTIONS: tuple[str, ...] = (
    "acm:*",
    "wafv2:*",
    "cloudwatch:*",
)

# Deployment services: allowed in us-east-1 only to the CDK bootstrap roles, the delivery pipeline's
# own roles and break-glass. Deploying a CDK stack there needs them (CloudFormation, the bootstrap
# bucket, repository and version parameter, the WAF log group and its key, the pipeline's artifact
# replication bucket and key); a developer must not be able to put a function, a bucket, a key or
# a log group with data in us-east-1 (R1: no customer data outside the EU).
EDGE_DEPLOYMENT_ACTIONS: tuple[str, ...] = (
    "cloudformation:*",
    "s3:*",
    "kms:*",
    "logs:*",
    "ssm:*",
    "lambda:*",
    "ecr:*",
    "sns:*",
    # Calls CloudFormation's handlers list for the WAF logging resources (AWS::Logs::LogGroup,
    # AWS::WAFv2::LoggingConfiguration) and the web ACL (AWS::WAFv2::WebACL): reads and tags only.
    "firehose:ListDeliveryStreams",
    "firehose:TagDeliveryStream",
    "payments:GetConnectedAccount",
    # The edge region's detection stack (<Stage>-DetectionEdge): Config recorder, delivery channel and
    # rules, the GuardDuty detector, and the EventBridge rules that forward findings to eu-central-1,
    # where people read them. (Config and GuardDuty record through their service-linked roles, which
    # SCPs do not restrict.)
    "config:*",
    "guardduty:*",
    "events:*",
)

# The only buckets that may be created in us-east-1: the CDK bootstrap assets bucket and the WAF
# log destination (AWS requires the aws-waf-logs- prefix). No customer data goes there (R1).
EDGE_REGION_BUCKETS: tuple[str, ...] = (
    "arn:aws:s3:::cdk-*-assets-*",
    "arn:aws:s3:::aws-waf-logs-*",
    # The delivery pipeline's artifact replication bucket there and its access-log bucket (stack
    # MediVault-Pipeline-Replication-us-east-1): pipeline artifacts, no customer data.
    "arn:aws:s3:::medivault-pipeline-replic*",
)

SECURITY_SERVICE_ACTIONS: tuple[str, ...] = (
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteEventDataStore",
    "cloudtrail:StopEventDataStoreIngestion",
    "config:StopConfigurationRecorder",
    "config:DeleteRetentionConfiguration",
    "guardduty:DisassociateFromAdministratorAccount",
    "guardduty:DisassociateFromMasterAccount",
    "guardduty:StopMonitoringMembers",
    "macie2:DisableMacie",
    "macie2:DisassociateFromAdministratorAccount",
    "macie2:DisassociateFromMasterAccount",
    "securityhub:DisableSecurityHub",
    "securityhub:BatchDisableStandards",
    "securityhub:DisassociateFromAdministratorAccount",
    "securityhub:DisassociateFromMasterAccount",
    "backup:DeleteBackupVaultLockConfiguration",
    "backup:DeleteBackupVault",
    "backup:DeleteRecoveryPoint",
    "backup:DeleteBackupVaultAccessPolicy",
)
# What CloudFormation calls to roll back, replace or update the security resources our stacks own
# (their delete handlers, and the Macie session's update handler): denied to people, allowed to the
# deployment role, so a failed first deploy rolls back instead of ending in ROLLBACK_FAILED. Only a
# reviewed, approved template change can make CloudFormation call them (docs/identity.md).
SECURITY_SERVICE_REPLACE_ACTIONS: tuple[str, ...] = (
    "cloudtrail:DeleteTrail",
    "config:DeleteConfigurationRecorder",
    "config:DeleteDeliveryChannel",
    "guardduty:DeleteDetector",
    "macie2:UpdateMacieSession",
)

IAM_USER_ACTIONS: tuple[str, ...] = (
    "iam:CreateUser",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:CreateServiceSpecificCredential",
)

OBJECT_LOCK_ACTIONS: tuple[str, ...] = ("s3:PutBucketObjectLockConfiguration", "s3:BypassGovernanceRetention")
PHI_BUCKET_DELETE_ACTIONS: tuple[str, ...] = ("s3:DeleteBucket",)
# The bucket policy resource is not retained: CloudFormation deletes it on a rolled-back create or a
# replacement, so only the deployment role (and break-glass) may.
PHI_BUCKET_POLICY_ACTIONS: tuple[str, ...] = ("s3:DeleteBucketPolicy",)
# CloudFormation calls PutBucketVersioning whenever it creates (or re-creates) a versioned bucket.
# S3 has no condition key for the requested versioning status, so the deployment role stays allowed
# and everyone else but break-glass is denied. On an Object Lock bucket (the production PHI buckets)
# S3 refuses to suspend versioning to anybody, so the exemption cannot weaken them.
PHI_BUCKET_VERSIONING_ACTIONS: tuple[str, ...] = ("s3:PutBucketVersioning",)

# Destroying or disabling a PHI data key makes every record unreadable: break-glass only, and never
# the deployment role (the production data key is retained, CloudFormation never deletes it).
PHI_KEY_DESTRUCTIVE_ACTIONS: tuple[str, ...] = (
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:DeleteImportedKeyMaterial",
)
# Key policy and tags of a PHI key change only on a reviewed deploy (the deployment role) or break-glass.
PHI_KEY_POLICY_ACTIONS: tuple[str, ...] = ("kms:PutKeyPolicy", "kms:TagResource", "kms:UntagResource")
# Re-pointing or deleting the data-key alias would take the key out of the alias-based PHI denies;
# CloudFormation deletes the (not retained) alias resource on a rollback or replacement.
PHI_KEY_ALIAS_ACTIONS: tuple[str, ...] = ("kms:DeleteAlias", "kms:UpdateAlias")

# Changes to a role: whoever can make them to an exempt role (break-glass, a CDK bootstrap role, a
# delivery role) takes over its exemption, so the SCPs that name those roles protect them too.
ROLE_CHANGE_ACTIONS: tuple[str, ...] = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:TagRole",
    "iam:UntagRole",
)
# Handing a protected role to a service (a function, an instance profile) would give its rights to
# whoever controls that service's code.
ROLE_HANDOVER_ACTIONS: tuple[str, ...] = ("iam:PassRole", "iam:AddRoleToInstanceProfile")

# The CDK bootstrap roles (default qualifier hnb659fds): deploy, CloudFormation execution, file and
# image publishing, lookup (https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html).
CDK_BOOTSTRAP_ROLES_ARN = "arn:aws:iam::*:role/cdk-hnb659fds-*"
# The CloudFormation execution role CDK bootstraps: the reviewed pipeline must still be able to
# create a new Object Lock bucket (which sets the lock configuration and versioning once) and
# update a PHI key's policy.
DEPLOYMENT_ROLE_ARN = "arn:aws:iam::*:role/cdk-hnb659fds-cfn-exec-role-*"
# The role that service-managed CloudFormation StackSets create in each member account (through the
# StackSets service-linked role, which SCPs do not restrict); the management account provisions the
# break-glass role through it (CloudFormationStackSetsOrgAdminServiceRolePolicy assumes exactly
# arn:aws:iam::*:role/stacksets-exec-*).
PROVISIONING_ROLE_ARN = "arn:aws:iam::*:role/stacksets-exec-*"


@dataclass(frozen=True, kw_only=True)
class ScpSettings:
    """What the SCPs need; the organisation stack maps ``OrganizationConfig`` and the regions onto it."""

    allowed_regions: tuple[str, ...]  # every principal may work here (the primary and DR regions)
    edge_region: str  # us-east-1: edge services for everyone, deployment services for the deploy roles only
    delivery_role_path: str  # IAM path of the delivery pipeline's roles (exempt in the edge region)
    break_glass: BreakGlass
    phi: PhiMarkers

    def __post_init__(self) -> None:
        if not self.allowed_regions or self.edge_region in self.allowed_regions:
            raise ValueError(
                f"ScpSettings.allowed_regions: {list(self.allowed_regions)} with edge region {self.edge_region!r}; "
                "allowed: one or more regions, the edge region not among them"
            )


@dataclass(frozen=True)
class ScpDocument:
    key: str  # config key (stacks/config/organization.py SCPS)
    name: str  # the policy's name in AWS Organizations
    description: str
    document: dict[str, Any]

    def minified(self) -> str:
        return json.dumps(self.document, separators=(",", ":"))


def _statement(
    sid: str,
    *,
    actions: Sequence[str] | None = None,
    not_actions: Sequence[str] | None = None,
    resources: Sequence[str] = ("*",),
    not_resources: Sequence[str] | None = None,
    condition: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Deny"}
    if actions is not None:
        statement["Action"] = list(actions)
    if not_actions is not None:
        statement["NotAction"] = list(not_actions)
    if not_resources is not None:
        statement["NotResource"] = list(not_resources)
    else:
        statement["Resource"] = list(resources) if len(resources) > 1 else resources[0]
    if condition:
        statement["Condition"] = dict(condition)
    return statement


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def scp_documents(settings: ScpSettings, break_glass_principals: Sequence[str]) -> dict[str, ScpDocument]:
    """Every SCP, keyed by its config key. ``break_glass_principals`` are IAM ARN patterns exempt
    (by an ``ArnNotLike aws:PrincipalARN`` condition) from the region and protection SCPs."""
    exempt = {"ArnNotLike": {"aws:PrincipalArn": list(break_glass_principals)}}
    deployer_exempt = {"ArnNotLike": {"aws:PrincipalArn": [*break_glass_principals, DEPLOYMENT_ROLE_ARN]}}
    delivery_roles = f"arn:aws:iam::*:role{settings.delivery_role_path}*"
    edge_deployers = {"ArnNotLike": {"aws:PrincipalArn": [*break_glass_principals, CDK_BOOTSTRAP_ROLES_ARN, delivery_roles]}}
    in_edge_region = {"StringEquals": {"aws:RequestedRegion": settings.edge_region}}
    phi = settings.phi
    phi_tag = {f"aws:ResourceTag/{phi.tag_key}": phi.tag_value}
    phi_buckets = [f"arn:aws:s3:::{pattern}" for pattern in phi.bucket_name_patterns]
    phi_key = {"ForAnyValue:StringLike": {"kms:ResourceAliases": phi.key_alias_pattern}}
    break_glass_roles = [
        f"arn:aws:iam::*:role{settings.break_glass.role_path}*",
        f"arn:aws:iam::*:role/*{settings.break_glass.role_name}*",
        # Identity Center's roles (the break-glass permission set's among them) are created and
        # changed by its service-linked role only, which SCPs do not restrict.
        "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*",
    ]
    documents = [
        ScpDocument(
            "deny_leaving_organization",
            "MediVault-DenyLeavingOrganization",
            "No member account may leave the organisation (and so shed every guardrail).",
            _policy(_statement("DenyLeavingOrganization", actions=["organizations:LeaveOrganization"])),
        ),
        ScpDocument(
            "deny_root_user",
            "MediVault-DenyRootUser",
            "The root user of a member account can do nothing: every action is by a named person (R3).",
            _policy(_statement("DenyRootUser", actions=["*"], condition={"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}})),
        ),
        ScpDocument(
            "deny_iam_users_and_keys",
            "MediVault-DenyIamUsersAndKeys",
            "No IAM users, passwords or access keys: people come in through IAM Identity Center only (R3).",
            _policy(_statement("DenyIamUsersAndAccessKeys", actions=IAM_USER_ACTIONS)),
        ),
        ScpDocument(
            "deny_outside_eu_regions",
            "MediVault-DenyOutsideEuRegions",
            "Only eu-central-1 and eu-west-1; us-east-1 only for the CloudFront edge and the CDK deploy roles there; global services exempt (R1).",
            _policy(
                _statement(
                    "DenyOutsideEuAndEdgeRegions",
                    not_actions=GLOBAL_SERVICE_ACTIONS,
                    condition={"StringNotEquals": {"aws:RequestedRegion": [*settings.allowed_regions, settings.edge_region]}, **exempt},
                ),
                _statement(
                    "DenyEdgeRegionExceptEdgeServices",
                    not_actions=[*GLOBAL_SERVICE_ACTIONS, *EDGE_SERVICE_ACTIONS, *EDGE_DEPLOYMENT_ACTIONS],
                    condition={**in_edge_region, **exempt},
                ),
                _statement(
                    "DenyEdgeRegionDeploymentServicesExceptDeployRoles",
                    actions=EDGE_DEPLOYMENT_ACTIONS,
                    condition={**in_edge_region, **edge_deployers},
                ),
                _statement(
                    "DenyEdgeRegionBucketsExceptCdkAndWafLogs",
                    actions=["s3:CreateBucket"],
                    not_resources=EDGE_REGION_BUCKETS,
                    condition={**in_edge_region, **exempt},
                ),
            ),
        ),
        ScpDocument(
            "protect_security_services",
            "MediVault-ProtectSecurityServices",
            "Nobody but break-glass stops or deletes CloudTrail, Config, GuardDuty, Macie, Security Hub or Backup vault locks (R12, R14, R15).",
            _policy(
                _statement("DenyStoppingSecurityServices", actions=SECURITY_SERVICE_ACTIONS, condition=exempt),
                _statement("DenyDeletingSecurityServicesExceptDeployRole", actions=SECURITY_SERVICE_REPLACE_ACTIONS, condition=deployer_exempt),
            ),
        ),
        ScpDocument(
            "protect_phi_storage",
            "MediVault-ProtectPhiStorage",
            "PHI buckets and keys: never deleted or disabled; Object Lock, versioning and key policies change only through the deployment role (R7).",
            _policy(
                _statement("DenyObjectLockChangesOnPhiBuckets", actions=OBJECT_LOCK_ACTIONS, resources=phi_buckets, condition=deployer_exempt),
                _statement(
                    "DenyObjectLockChangesOnTaggedBuckets", actions=OBJECT_LOCK_ACTIONS, condition={"StringEquals": phi_tag, **deployer_exempt}
                ),
                _statement("DenyDeletingPhiBuckets", actions=PHI_BUCKET_DELETE_ACTIONS, resources=phi_buckets, condition=exempt),
                _statement("DenyDeletingTaggedBuckets", actions=PHI_BUCKET_DELETE_ACTIONS, condition={"StringEquals": phi_tag, **exempt}),
                _statement(
                    "DenyVersioningChangesOnPhiBuckets",
                    actions=[*PHI_BUCKET_VERSIONING_ACTIONS, *PHI_BUCKET_POLICY_ACTIONS],
                    resources=phi_buckets,
                    condition=deployer_exempt,
                ),
                _statement(
                    "DenyVersioningChangesOnTaggedBuckets",
                    actions=[*PHI_BUCKET_VERSIONING_ACTIONS, *PHI_BUCKET_POLICY_ACTIONS],
                    condition={"StringEquals": phi_tag, **deployer_exempt},
                ),
                _statement("DenyDestroyingPhiKeys", actions=PHI_KEY_DESTRUCTIVE_ACTIONS, condition={**phi_key, **exempt}),
                _statement("DenyPhiKeyPolicyChanges", actions=PHI_KEY_POLICY_ACTIONS, condition={**phi_key, **deployer_exempt}),
                _statement(
                    "DenyMovingPhiKeyAlias",
                    actions=PHI_KEY_ALIAS_ACTIONS,
                    resources=[f"arn:aws:kms:*:*:{phi.key_alias_pattern}"],
                    condition=deployer_exempt,
                ),
            ),
        ),
        ScpDocument(
            "protect_privileged_roles",
            "MediVault-ProtectPrivilegedRoles",
            "Roles the other SCPs exempt (break-glass, CDK bootstrap, delivery) are created, changed, tagged, "
            "deleted or passed only by their provisioning path (R3).",
            _policy(
                _statement(
                    "ProtectBreakGlassRole",
                    actions=[*ROLE_CHANGE_ACTIONS, *ROLE_HANDOVER_ACTIONS],
                    resources=break_glass_roles,
                    condition={"ArnNotLike": {"aws:PrincipalArn": PROVISIONING_ROLE_ARN}},
                ),
                _statement(
                    "ProtectProvisioningRole",
                    actions=[*ROLE_CHANGE_ACTIONS, *ROLE_HANDOVER_ACTIONS],
                    resources=[PROVISIONING_ROLE_ARN],
                ),
                _statement(
                    "ProtectCdkBootstrapRoles",
                    actions=ROLE_CHANGE_ACTIONS,
                    resources=[CDK_BOOTSTRAP_ROLES_ARN],
                    condition={"ArnNotLike": {"aws:PrincipalArn": [*break_glass_principals, PROVISIONING_ROLE_ARN]}},
                ),
                _statement(
                    "ProtectDeliveryRoles",
                    actions=[*ROLE_CHANGE_ACTIONS, *ROLE_HANDOVER_ACTIONS],
                    resources=[delivery_roles],
                    condition=deployer_exempt,
                ),
            ),
        ),
    ]
    result = {doc.key: doc for doc in documents}
    for doc in result.values():
        validate_scp(doc)
    return result


def validate_scp(doc: ScpDocument) -> None:
    """Raise ValueError on what AWS Organizations would reject or what our guardrails never want."""
    text = doc.minified()
    if len(text) > SCP_MAX_CHARACTERS:
        raise ValueError(f"SCP {doc.name} is {len(text)} characters, over the {SCP_MAX_CHARACTERS}-character limit")
    parsed = json.loads(text)
    if parsed.get("Version") != "2012-10-17" or not parsed.get("Statement"):
        raise ValueError(f"SCP {doc.name}: needs Version 2012-10-17 and statements")
    sids = [s.get("Sid") for s in parsed["Statement"]]
    if None in sids or len(set(sids)) != len(sids):
        raise ValueError(f"SCP {doc.name}: every statement needs a unique Sid")
    for statement in parsed["Statement"]:
        if statement["Effect"] != "Deny":
            raise ValueError(f"SCP {doc.name}/{statement['Sid']}: MediVault SCPs only deny (FullAWSAccess stays attached)")
    if not 1 <= len(doc.name) <= 128 or not 1 <= len(doc.description) <= 512:
        raise ValueError(f"SCP {doc.name}: name 1-128 and description 1-512 characters")


class ServiceControlPolicies(Construct):
    """One ``AWS::Organizations::Policy`` per SCP, attached to the given root/OU IDs (``attachments``: SCP key -> IDs)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ScpSettings,
        break_glass_principals: Sequence[str],
        attachments: Mapping[str, Sequence[str]],
    ) -> None:
        super().__init__(scope, construct_id)
        self.documents = scp_documents(settings, break_glass_principals)
        unattached = sorted(key for key in self.documents if not attachments.get(key))
        if unattached:
            raise ValueError(f"ServiceControlPolicies: no target for {unattached}; allowed: one or more root or OU IDs per SCP")
        self.policies: dict[str, organizations.CfnPolicy] = {}
        for key, doc in self.documents.items():
            self.policies[key] = organizations.CfnPolicy(
                self,
                "".join(part.capitalize() for part in key.split("_")),
                name=doc.name,
                description=doc.description,
                type="SERVICE_CONTROL_POLICY",
                content=doc.document,
                target_ids=list(attachments[key]),
            )
