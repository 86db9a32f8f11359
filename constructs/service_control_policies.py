"""Service control policies of the MediVault organisation (R3, R1), generated as Python data.

Each SCP is small, named and documented (docs/identity.md); ``scp_documents`` builds them from
the organisation config, ``validate_scp`` checks what AWS Organizations would reject (JSON, the
5,120-character limit counted on the minified text, Deny-only statements with Sids), and
``ServiceControlPolicies`` turns them into ``AWS::Organizations::Policy`` resources attached to
the root or OUs named in config.

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

from stacks.config.environment import DR_REGION, EDGE_REGION, PRIMARY_REGION
from stacks.config.organization import OrganizationConfig

SCP_MAX_CHARACTERS = 5120  # AWS Organizations quota for one SCP document (minified, whitespace excluded)
ALLOWED_REGIONS = (PRIMARY_REGION, DR_REGION)

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

# Allowed in us-east-1 only, because CloudFront forces the edge stack's resources there: the
# CLOUDFRONT-scoped WAF web ACL and its logs (+ key), the CloudFront ACM certificate, and what
# deploying a CDK stack there needs (CloudFormation, the bootstrap bucket/repository/parameters,
# the cross-region reference custom resource, CloudFront alarms).
EDGE_REGION_ACTIONS: tuple[str, ...] = (
    "acm:*",
    "wafv2:*",
    "kms:*",
    "logs:*",
    "cloudformation:*",
    "ssm:*",
    "lambda:*",
    "s3:*",
    "ecr:*",
    "cloudwatch:*",
    "sns:*",
)

# The only buckets that may be created in us-east-1: the CDK bootstrap assets bucket and the WAF
# log destination (AWS requires the aws-waf-logs- prefix). No customer data goes there (R1).
EDGE_REGION_BUCKETS: tuple[str, ...] = ("arn:aws:s3:::cdk-*-assets-*", "arn:aws:s3:::aws-waf-logs-*")

SECURITY_SERVICE_ACTIONS: tuple[str, ...] = (
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "cloudtrail:DeleteEventDataStore",
    "cloudtrail:StopEventDataStoreIngestion",
    "config:StopConfigurationRecorder",
    "config:DeleteConfigurationRecorder",
    "config:DeleteDeliveryChannel",
    "config:DeleteRetentionConfiguration",
    "guardduty:DeleteDetector",
    "guardduty:DisassociateFromAdministratorAccount",
    "guardduty:DisassociateFromMasterAccount",
    "guardduty:StopMonitoringMembers",
    "macie2:DisableMacie",
    "macie2:UpdateMacieSession",
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

IAM_USER_ACTIONS: tuple[str, ...] = (
    "iam:CreateUser",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:CreateServiceSpecificCredential",
)

OBJECT_LOCK_ACTIONS: tuple[str, ...] = ("s3:PutBucketObjectLockConfiguration", "s3:BypassGovernanceRetention")
PHI_BUCKET_DELETE_ACTIONS: tuple[str, ...] = ("s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning")

# The CloudFormation execution role CDK bootstraps (default qualifier): the reviewed pipeline must
# still be able to create a new Object Lock bucket, which sets the lock configuration once.
DEPLOYMENT_ROLE_ARN = "arn:aws:iam::*:role/cdk-hnb659fds-cfn-exec-role-*"


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


def scp_documents(config: OrganizationConfig, break_glass_principals: Sequence[str]) -> dict[str, ScpDocument]:
    """Every SCP, keyed by its config key. ``break_glass_principals`` are IAM ARN patterns exempt
    (by an ``ArnNotLike aws:PrincipalARN`` condition) from the region and protection SCPs."""
    exempt = {"ArnNotLike": {"aws:PrincipalArn": list(break_glass_principals)}}
    phi_tag = {f"aws:ResourceTag/{config.phi_tag_key}": config.phi_tag_value}
    phi_buckets = [f"arn:aws:s3:::{pattern}" for pattern in config.phi_bucket_name_patterns]
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
            "Only eu-central-1 and eu-west-1; us-east-1 only for the CloudFront edge; global services exempt (R1).",
            _policy(
                _statement(
                    "DenyOutsideEuAndEdgeRegions",
                    not_actions=GLOBAL_SERVICE_ACTIONS,
                    condition={"StringNotEquals": {"aws:RequestedRegion": [*ALLOWED_REGIONS, EDGE_REGION]}, **exempt},
                ),
                _statement(
                    "DenyEdgeRegionExceptEdgeServices",
                    not_actions=[*GLOBAL_SERVICE_ACTIONS, *EDGE_REGION_ACTIONS],
                    condition={"StringEquals": {"aws:RequestedRegion": EDGE_REGION}, **exempt},
                ),
                _statement(
                    "DenyEdgeRegionBucketsExceptCdkAndWafLogs",
                    actions=["s3:CreateBucket"],
                    not_resources=EDGE_REGION_BUCKETS,
                    condition={"StringEquals": {"aws:RequestedRegion": EDGE_REGION}, **exempt},
                ),
            ),
        ),
        ScpDocument(
            "protect_security_services",
            "MediVault-ProtectSecurityServices",
            "Nobody but break-glass stops or deletes CloudTrail, Config, GuardDuty, Macie, Security Hub or Backup vault locks (R12, R14, R15).",
            _policy(_statement("DenyStoppingSecurityServices", actions=SECURITY_SERVICE_ACTIONS, condition=exempt)),
        ),
        ScpDocument(
            "protect_phi_storage",
            "MediVault-ProtectPhiStorage",
            "Object Lock settings of PHI buckets change only through the deployment role; PHI buckets are never deleted (R7).",
            _policy(
                _statement(
                    "DenyObjectLockChangesOnPhiBuckets",
                    actions=OBJECT_LOCK_ACTIONS,
                    resources=phi_buckets,
                    condition={"ArnNotLike": {"aws:PrincipalArn": [*break_glass_principals, DEPLOYMENT_ROLE_ARN]}},
                ),
                _statement(
                    "DenyObjectLockChangesOnTaggedBuckets",
                    actions=OBJECT_LOCK_ACTIONS,
                    condition={"StringEquals": phi_tag, "ArnNotLike": {"aws:PrincipalArn": [*break_glass_principals, DEPLOYMENT_ROLE_ARN]}},
                ),
                _statement("DenyDeletingPhiBuckets", actions=PHI_BUCKET_DELETE_ACTIONS, resources=phi_buckets, condition=exempt),
                _statement("DenyDeletingTaggedBuckets", actions=PHI_BUCKET_DELETE_ACTIONS, condition={"StringEquals": phi_tag, **exempt}),
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
    """One ``AWS::Organizations::Policy`` per SCP, attached to the targets named in config."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: OrganizationConfig, break_glass_principals: Sequence[str], target_ids: Mapping[str, str]
    ) -> None:
        super().__init__(scope, construct_id)
        self.documents = scp_documents(config, break_glass_principals)
        self.policies: dict[str, organizations.CfnPolicy] = {}
        for key, doc in self.documents.items():
            self.policies[key] = organizations.CfnPolicy(
                self,
                "".join(part.capitalize() for part in key.split("_")),
                name=doc.name,
                description=doc.description,
                type="SERVICE_CONTROL_POLICY",
                content=doc.document,
                target_ids=[target_ids[target] for target in config.scp_targets[key]],
            )
