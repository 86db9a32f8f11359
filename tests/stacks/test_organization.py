"""The organisation stage: OUs, service control policies, Identity Center permission sets (R3, R1)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from constructs.permission_sets import (
    ADMINISTRATOR_ACCESS,
    SECURITY_AUDIT,
    VIEW_ONLY_ACCESS,
    permission_set_specs,
)
from constructs.service_control_policies import SCP_MAX_CHARACTERS, ScpDocument, scp_documents, validate_scp

from stacks.config.organization import organization
from stacks.organization_stack import permission_set_settings, scp_settings
from stacks.organization_stage import OrganizationStage
from tests.conftest import CONCRETE_ACCOUNTS, CONCRETE_ORGANIZATION_ACCOUNT, Synthesized, resources_of
from tests.stacks.iam_eval import denying_sids, evaluate

pytestmark = pytest.mark.requirements("R3", "R1", "R7", "R12", "R14")

PROD, SANDBOX = CONCRETE_ACCOUNTS["production"], CONCRETE_ACCOUNTS["sandbox"]
BREAK_GLASS_ROLE = f"arn:aws:iam::{PROD}:role/medivault-break-glass/MediVaultBreakGlass"
BREAK_GLASS_SSO = f"arn:aws:iam::{PROD}:role/aws-reserved/sso.amazonaws.com/eu-central-1/AWSReservedSSO_MediVault-BreakGlassAdmin_0123456789abcdef"
DEVELOPER_SSO = f"arn:aws:iam::{PROD}:role/aws-reserved/sso.amazonaws.com/eu-central-1/AWSReservedSSO_MediVault-Developer_0123456789abcdef"
CDK_EXEC_ROLE = f"arn:aws:iam::{PROD}:role/cdk-hnb659fds-cfn-exec-role-{PROD}-eu-central-1"
CDK_DEPLOY_ROLE = f"arn:aws:iam::{PROD}:role/cdk-hnb659fds-deploy-role-{PROD}-us-east-1"
PIPELINE_ROLE = "arn:aws:iam::444444444444:role/medivault-delivery/MediVault-Pipeline-PipelineRoleDCFDBB91-AbC123"
STACKSETS_ROLE = f"arn:aws:iam::{PROD}:role/stacksets-exec-0123456789abcdef0123456789abcdef"
PHI_KEY = f"arn:aws:kms:eu-central-1:{PROD}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PHI_BUCKET = "production-data-recordsbucket600c9c86-1x2y3z4w5v6u"  # the name CloudFormation gives Production-Data's RecordsBucket600C9C86
IMAGING_BUCKET = "sandbox-data-imagingbucketbf481a76-9q8r7s6t5u4v"


def _policies(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """SCPs by name, as CloudFormation will receive them."""
    found = resources_of(synth.organization_template("guardrails"), "AWS::Organizations::Policy")
    return {p["Properties"]["Name"]: p["Properties"] for p in found.values()}


def _scp(synth: Synthesized, name: str) -> dict[str, Any]:
    content: dict[str, Any] = _policies(synth)[name]["Content"]
    return content


def _permission_sets(synth: Synthesized) -> dict[str, dict[str, Any]]:
    found = resources_of(synth.organization_template("identity_center"), "AWS::SSO::PermissionSet")
    return {p["Properties"]["Name"]: p["Properties"] for p in found.values()}


# ---------------------------------------------------------------- stage and stacks


def test_stacks_live_in_the_management_account_and_the_right_regions(synth: Synthesized) -> None:
    stage = synth.organization
    assert stage is not None and stage.stage_name == "Organization"
    assert (stage.guardrails.account, stage.guardrails.region) == (CONCRETE_ORGANIZATION_ACCOUNT, "us-east-1")
    assert (stage.identity_center.account, stage.identity_center.region) == (CONCRETE_ORGANIZATION_ACCOUNT, "eu-central-1")
    assert stage.guardrails.termination_protection is True
    assert stage.identity_center.termination_protection is True
    assert {s.stack_name for s in (stage.guardrails, stage.identity_center)} == {"Organization-Guardrails", "Organization-IdentityCenter"}


def test_env_agnostic_organization_synthesizes(agnostic: Synthesized) -> None:
    assert agnostic.organization is not None
    assert cdk.Token.is_unresolved(agnostic.organization.guardrails.account)


def test_organizational_units_from_config(synth: Synthesized) -> None:
    units = resources_of(synth.organization_template("guardrails"), "AWS::Organizations::OrganizationalUnit")
    assert sorted((u["Properties"]["Name"], u["Properties"]["ParentId"]) for u in units.values()) == [
        ("Security", "r-0000"),
        ("Workloads-Production", "r-0000"),
        ("Workloads-Sandbox", "r-0000"),
    ]


# ---------------------------------------------------------------- service control policies


def test_every_scp_is_valid_json_under_the_size_limit(synth: Synthesized) -> None:
    policies = _policies(synth)
    assert set(policies) == {
        "MediVault-DenyLeavingOrganization",
        "MediVault-DenyRootUser",
        "MediVault-DenyIamUsersAndKeys",
        "MediVault-DenyOutsideEuRegions",
        "MediVault-ProtectSecurityServices",
        "MediVault-ProtectPhiStorage",
        "MediVault-ProtectPrivilegedRoles",
    }
    for name, policy in policies.items():
        assert policy["Type"] == "SERVICE_CONTROL_POLICY"
        assert len(policy["Description"]) >= 40, name
        text = json.dumps(policy["Content"], separators=(",", ":"))
        assert json.loads(text) == policy["Content"]
        assert len(text) <= SCP_MAX_CHARACTERS, f"{name} is {len(text)} characters"
        assert policy["Content"]["Version"] == "2012-10-17"
        assert all(s["Effect"] == "Deny" for s in policy["Content"]["Statement"]), name


def test_scp_targets_respect_the_five_policies_per_target_quota(synth: Synthesized) -> None:
    units = resources_of(synth.organization_template("guardrails"), "AWS::Organizations::OrganizationalUnit")
    ou_ids = {u["Properties"]["Name"]: {"Fn::GetAtt": [lid, "Id"]} for lid, u in units.items()}
    targets = {name: p["TargetIds"] for name, p in _policies(synth).items()}
    for name in ("MediVault-DenyLeavingOrganization", "MediVault-DenyRootUser", "MediVault-DenyIamUsersAndKeys", "MediVault-DenyOutsideEuRegions"):
        assert targets[name] == ["r-0000"], name
    assert targets["MediVault-ProtectSecurityServices"] == [ou_ids["Security"], ou_ids["Workloads-Production"]]
    assert targets["MediVault-ProtectPhiStorage"] == [ou_ids["Workloads-Production"]]
    assert targets["MediVault-ProtectPrivilegedRoles"] == [ou_ids["Security"], ou_ids["Workloads-Production"], ou_ids["Workloads-Sandbox"]]
    per_target: dict[str, int] = {}
    for ids in targets.values():
        for target in ids:
            per_target[json.dumps(target)] = per_target.get(json.dumps(target), 0) + 1
    assert max(per_target.values()) <= 4  # + FullAWSAccess = the AWS maximum of 5


def test_deny_root_leave_and_iam_users_exactly(synth: Synthesized) -> None:
    assert _scp(synth, "MediVault-DenyRootUser")["Statement"] == [
        {
            "Sid": "DenyRootUser",
            "Effect": "Deny",
            "Action": ["*"],
            "Resource": "*",
            "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
        }
    ]
    assert _scp(synth, "MediVault-DenyLeavingOrganization")["Statement"] == [
        {"Sid": "DenyLeavingOrganization", "Effect": "Deny", "Action": ["organizations:LeaveOrganization"], "Resource": "*"}
    ]
    # No break-glass exemption: people come in through Identity Center only, break-glass is a role.
    assert _scp(synth, "MediVault-DenyIamUsersAndKeys")["Statement"] == [
        {
            "Sid": "DenyIamUsersAndAccessKeys",
            "Effect": "Deny",
            "Action": ["iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreateServiceSpecificCredential"],
            "Resource": "*",
        }
    ]
    root = _scp(synth, "MediVault-DenyRootUser")
    assert evaluate(root, "s3:DeleteBucket", "*", {"aws:PrincipalArn": f"arn:aws:iam::{PROD}:root"}) == "Deny"
    assert evaluate(root, "s3:DeleteBucket", "*", {"aws:PrincipalArn": BREAK_GLASS_ROLE}) == "Implicit"
    iam_users = _scp(synth, "MediVault-DenyIamUsersAndKeys")
    assert evaluate(iam_users, "iam:CreateAccessKey", "*", {"aws:PrincipalArn": BREAK_GLASS_SSO}) == "Deny"
    assert evaluate(iam_users, "iam:CreateRole", "*", {"aws:PrincipalArn": DEVELOPER_SSO}) == "Implicit"


REQUIRED_GLOBAL_SERVICES = (
    "iam:*",
    "organizations:*",
    "sts:*",
    "sso:*",
    "cloudfront:*",
    "route53:*",
    "support:*",
    "budgets:*",
    "ce:*",
    "health:*",
    "trustedadvisor:*",
)


def test_region_deny_statements_exactly(synth: Synthesized) -> None:
    statements = {s["Sid"]: s for s in _scp(synth, "MediVault-DenyOutsideEuRegions")["Statement"]}
    assert set(statements) == {
        "DenyOutsideEuAndEdgeRegions",
        "DenyEdgeRegionExceptEdgeServices",
        "DenyEdgeRegionDeploymentServicesExceptDeployRoles",
        "DenyEdgeRegionBucketsExceptCdkAndWafLogs",
    }
    exempt = {
        "aws:PrincipalArn": [
            "arn:aws:iam::*:role/medivault-break-glass/MediVaultBreakGlass",
            "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_MediVault-BreakGlassAdmin_*",
        ]
    }
    outside = statements["DenyOutsideEuAndEdgeRegions"]
    assert outside["Resource"] == "*"
    assert outside["Condition"] == {"StringNotEquals": {"aws:RequestedRegion": ["eu-central-1", "eu-west-1", "us-east-1"]}, "ArnNotLike": exempt}
    assert set(REQUIRED_GLOBAL_SERVICES) <= set(outside["NotAction"])
    # Regional services that hold data are never exempt.
    assert not {"s3:*", "ec2:*", "kms:*", "rds:*", "dynamodb:*", "logs:*", "wafv2:*", "acm:*"} & set(outside["NotAction"])
    edge = statements["DenyEdgeRegionExceptEdgeServices"]
    assert edge["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-east-1"}, "ArnNotLike": exempt}
    assert {"acm:*", "wafv2:*"} <= set(edge["NotAction"])
    assert set(outside["NotAction"]) <= set(edge["NotAction"])
    buckets = statements["DenyEdgeRegionBucketsExceptCdkAndWafLogs"]
    assert buckets["Action"] == ["s3:CreateBucket"]
    assert buckets["NotResource"] == ["arn:aws:s3:::cdk-*-assets-*", "arn:aws:s3:::aws-waf-logs-*", "arn:aws:s3:::medivault-pipeline-replic*"]
    # The services a CDK deploy needs in us-east-1 are open only to the deploy roles and break-glass.
    deployment = statements["DenyEdgeRegionDeploymentServicesExceptDeployRoles"]
    assert {"lambda:*", "s3:*", "kms:*", "logs:*", "ecr:*", "sns:*", "ssm:*", "cloudformation:*"} <= set(deployment["Action"])
    assert deployment["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": "us-east-1"},
        "ArnNotLike": {
            "aws:PrincipalArn": [*exempt["aws:PrincipalArn"], "arn:aws:iam::*:role/cdk-hnb659fds-*", "arn:aws:iam::*:role/medivault-delivery/*"]
        },
    }


@pytest.mark.parametrize(
    ("action", "region", "resource", "principal", "expected"),
    [
        ("ec2:RunInstances", "eu-central-1", "*", DEVELOPER_SSO, "Implicit"),
        ("rds:CreateDBCluster", "eu-west-1", "*", DEVELOPER_SSO, "Implicit"),
        ("ec2:RunInstances", "us-west-2", "*", DEVELOPER_SSO, "Deny"),
        ("s3:PutObject", "ap-southeast-1", "*", CDK_EXEC_ROLE, "Deny"),
        ("ec2:RunInstances", "us-east-1", "*", DEVELOPER_SSO, "Deny"),
        ("rds:CreateDBCluster", "us-east-1", "*", CDK_EXEC_ROLE, "Deny"),
        # the edge stack's resources in us-east-1
        ("wafv2:CreateWebACL", "us-east-1", "*", CDK_EXEC_ROLE, "Implicit"),
        ("acm:RequestCertificate", "us-east-1", "*", CDK_EXEC_ROLE, "Implicit"),
        ("cloudformation:CreateStack", "us-east-1", "*", CDK_EXEC_ROLE, "Implicit"),
        ("wafv2:CreateWebACL", "us-west-2", "*", CDK_EXEC_ROLE, "Deny"),
        ("acm:RequestCertificate", "ap-south-1", "*", CDK_EXEC_ROLE, "Deny"),
        ("s3:CreateBucket", "us-east-1", "arn:aws:s3:::patient-scans-us", CDK_EXEC_ROLE, "Deny"),
        ("s3:CreateBucket", "us-east-1", "arn:aws:s3:::aws-waf-logs-medivault-production", CDK_EXEC_ROLE, "Implicit"),
        ("s3:CreateBucket", "us-east-1", f"arn:aws:s3:::cdk-hnb659fds-assets-{PROD}-us-east-1", CDK_EXEC_ROLE, "Implicit"),
        # global services stay usable whatever region the call is reported in
        ("iam:CreateRole", "us-west-2", "*", CDK_EXEC_ROLE, "Implicit"),
        ("sts:AssumeRole", "us-east-1", "*", DEVELOPER_SSO, "Implicit"),
        ("organizations:DescribeOrganization", "us-east-1", "*", DEVELOPER_SSO, "Implicit"),
        ("support:CreateCase", "us-east-1", "*", DEVELOPER_SSO, "Implicit"),
        ("ce:GetCostAndUsage", "us-east-1", "*", DEVELOPER_SSO, "Implicit"),
        ("cloudfront:CreateDistribution", "us-east-1", "*", CDK_EXEC_ROLE, "Implicit"),
        ("route53:ChangeResourceRecordSets", "us-east-1", "*", CDK_EXEC_ROLE, "Implicit"),
        ("health:DescribeEvents", "us-east-1", "*", DEVELOPER_SSO, "Implicit"),
        ("trustedadvisor:DescribeChecks", "us-east-1", "*", DEVELOPER_SSO, "Implicit"),
        ("budgets:ViewBudget", "us-east-1", "*", DEVELOPER_SSO, "Implicit"),
        ("sso:ListInstances", "us-east-1", "*", DEVELOPER_SSO, "Implicit"),
        # issue 15 item 2: in us-east-1 a developer creates no function, bucket, key, log group, topic,
        # parameter, repository or stack; the CDK deploy roles and the pipeline's roles may
        ("lambda:CreateFunction", "us-east-1", "*", DEVELOPER_SSO, "Deny"),
        ("s3:CreateBucket", "us-east-1", f"arn:aws:s3:::cdk-hnb659fds-assets-{PROD}-us-east-1", DEVELOPER_SSO, "Deny"),
        ("s3:PutObject", "us-east-1", "arn:aws:s3:::aws-waf-logs-medivault-production/x", DEVELOPER_SSO, "Deny"),
        ("kms:CreateKey", "us-east-1", "*", DEVELOPER_SSO, "Deny"),
        ("logs:CreateLogGroup", "us-east-1", "*", DEVELOPER_SSO, "Deny"),
        ("sns:CreateTopic", "us-east-1", "*", DEVELOPER_SSO, "Deny"),
        ("ssm:PutParameter", "us-east-1", "*", DEVELOPER_SSO, "Deny"),
        ("ecr:CreateRepository", "us-east-1", "*", DEVELOPER_SSO, "Deny"),
        ("cloudformation:CreateStack", "us-east-1", "*", DEVELOPER_SSO, "Deny"),
        ("kms:CreateKey", "us-east-1", "*", CDK_EXEC_ROLE, "Implicit"),
        ("lambda:CreateFunction", "us-east-1", "*", CDK_EXEC_ROLE, "Implicit"),
        ("logs:CreateLogGroup", "us-east-1", "*", CDK_EXEC_ROLE, "Implicit"),
        ("cloudformation:CreateChangeSet", "us-east-1", "*", CDK_DEPLOY_ROLE, "Implicit"),
        ("s3:PutObject", "us-east-1", "arn:aws:s3:::medivault-pipeline-repliceplicationbucket3125eec987b07ff044da/x", PIPELINE_ROLE, "Implicit"),
        ("kms:GenerateDataKey", "us-east-1", "*", PIPELINE_ROLE, "Implicit"),
        ("s3:PutObject", "us-east-1", "arn:aws:s3:::medivault-pipeline-repliceplicationbucket3125eec987b07ff044da/x", DEVELOPER_SSO, "Deny"),
        # the edge services stay open there (nothing of them holds customer data)
        ("wafv2:GetWebACL", "us-east-1", "*", DEVELOPER_SSO, "Implicit"),
        ("acm:DescribeCertificate", "us-east-1", "*", DEVELOPER_SSO, "Implicit"),
        ("cloudwatch:GetMetricData", "us-east-1", "*", DEVELOPER_SSO, "Implicit"),
        # a role merely named like a deploy role in another path is not exempt
        ("kms:CreateKey", "us-east-1", "*", f"arn:aws:iam::{PROD}:role/team/cdk-hnb659fds-cfn-exec-role-x", "Deny"),
        # break-glass is exempt by its principal ARN
        ("ec2:RunInstances", "us-west-2", "*", BREAK_GLASS_ROLE, "Implicit"),
        ("kms:CreateKey", "us-east-1", "*", BREAK_GLASS_SSO, "Implicit"),
        ("ec2:RunInstances", "us-west-2", "*", BREAK_GLASS_SSO, "Implicit"),
    ],
)
def test_region_deny_behaviour(synth: Synthesized, action: str, region: str, resource: str, principal: str, expected: str) -> None:
    policy = _scp(synth, "MediVault-DenyOutsideEuRegions")
    assert evaluate(policy, action, resource, {"aws:RequestedRegion": region, "aws:PrincipalArn": principal}) == expected


@pytest.mark.parametrize(
    "action",
    [
        "cloudtrail:StopLogging",
        "cloudtrail:DeleteTrail",
        "config:StopConfigurationRecorder",
        "config:DeleteConfigurationRecorder",
        "config:DeleteDeliveryChannel",
        "guardduty:DeleteDetector",
        "guardduty:DisassociateFromAdministratorAccount",
        "macie2:DisableMacie",
        "macie2:UpdateMacieSession",
        "securityhub:DisableSecurityHub",
        "securityhub:BatchDisableStandards",
        "backup:DeleteBackupVaultLockConfiguration",
        "backup:DeleteBackupVault",
        "backup:DeleteRecoveryPoint",
    ],
)
def test_security_services_cannot_be_stopped_except_by_break_glass(synth: Synthesized, action: str) -> None:
    """People never stop or delete them. The CDK execution role may delete the trail, recorder,
    delivery channel and detector our stacks own, and update the Macie session: CloudFormation's
    delete handlers (rollback of a failed create, replacement) and the session's update handler
    call exactly these (tests/deploy/test_guardrails.py); it never stops logging or recording."""
    policy = _scp(synth, "MediVault-ProtectSecurityServices")
    assert [s["Sid"] for s in policy["Statement"]] == ["DenyStoppingSecurityServices", "DenyDeletingSecurityServicesExceptDeployRole"]
    replace_actions = {
        "cloudtrail:DeleteTrail",
        "config:DeleteConfigurationRecorder",
        "config:DeleteDeliveryChannel",
        "guardduty:DeleteDetector",
        "macie2:UpdateMacieSession",
    }
    assert evaluate(policy, action, "*", {"aws:PrincipalArn": DEVELOPER_SSO}) == "Deny"
    assert evaluate(policy, action, "*", {"aws:PrincipalArn": CDK_EXEC_ROLE}) == ("Implicit" if action in replace_actions else "Deny")
    for principal in (BREAK_GLASS_ROLE, BREAK_GLASS_SSO):
        assert evaluate(policy, action, "*", {"aws:PrincipalArn": principal}) == "Implicit", principal


def test_security_services_can_still_be_read_and_created(synth: Synthesized) -> None:
    policy = _scp(synth, "MediVault-ProtectSecurityServices")
    for action in (
        "cloudtrail:CreateTrail",
        "cloudtrail:StartLogging",
        "config:PutConfigurationRecorder",
        "guardduty:CreateDetector",
        "backup:CreateBackupVault",
    ):
        assert evaluate(policy, action, "*", {"aws:PrincipalArn": CDK_EXEC_ROLE}) == "Implicit", action


def test_phi_storage_protection(synth: Synthesized) -> None:
    policy = _scp(synth, "MediVault-ProtectPhiStorage")
    assert [s["Sid"] for s in policy["Statement"]] == [
        "DenyObjectLockChangesOnPhiBuckets",
        "DenyObjectLockChangesOnTaggedBuckets",
        "DenyDeletingPhiBuckets",
        "DenyDeletingTaggedBuckets",
        "DenyVersioningChangesOnPhiBuckets",
        "DenyVersioningChangesOnTaggedBuckets",
        "DenyDestroyingPhiKeys",
        "DenyPhiKeyPolicyChanges",
        "DenyMovingPhiKeyAlias",
    ]
    bucket = f"arn:aws:s3:::{PHI_BUCKET}"
    human = {"aws:PrincipalArn": DEVELOPER_SSO}
    assert denying_sids(policy, "s3:PutBucketObjectLockConfiguration", bucket, human) == {"DenyObjectLockChangesOnPhiBuckets"}
    assert denying_sids(policy, "s3:DeleteBucket", bucket, human) == {"DenyDeletingPhiBuckets"}
    for other in (IMAGING_BUCKET, "medivault-phi-exports"):
        assert denying_sids(policy, "s3:DeleteBucket", f"arn:aws:s3:::{other}", human) == {"DenyDeletingPhiBuckets"}, other
    # Tagged buckets (S3 ABAC enabled) are protected whatever their name.
    tagged = {**human, "aws:ResourceTag/data-class": "phi"}
    assert evaluate(policy, "s3:DeleteBucket", "arn:aws:s3:::records-eu", tagged) == "Deny"
    assert evaluate(policy, "s3:BypassGovernanceRetention", "arn:aws:s3:::records-eu/x", tagged) == "Deny"
    # The reviewed deployment role may set the lock configuration (a new bucket) but never delete.
    deployer = {"aws:PrincipalArn": CDK_EXEC_ROLE}
    assert evaluate(policy, "s3:PutBucketObjectLockConfiguration", bucket, deployer) == "Implicit"
    assert evaluate(policy, "s3:DeleteBucket", bucket, deployer) == "Deny"
    assert evaluate(policy, "s3:DeleteBucket", bucket, {"aws:PrincipalArn": BREAK_GLASS_ROLE}) == "Implicit"
    # Other buckets are not affected.
    assert evaluate(policy, "s3:DeleteBucket", "arn:aws:s3:::production-edge-logs", human) == "Implicit"


def test_cloudformation_can_create_a_versioned_phi_bucket_people_cannot_change_versioning(synth: Synthesized) -> None:
    """Issue 14 defect 4: CloudFormation's create handler for AWS::S3::Bucket calls
    s3:PutBucketVersioning (resource provider schema, handlers.create.permissions) whenever the bucket
    is versioned, so denying it to the execution role made the production PHI buckets impossible to
    create or re-create. S3 has no condition key for the requested versioning status
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html), so the
    deployment role is exempt and everyone else but break-glass stays denied; on the production
    Object Lock buckets nobody can suspend versioning anyway
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html). Fails on the old SCP,
    which exempted break-glass only."""
    policy = _scp(synth, "MediVault-ProtectPhiStorage")
    for bucket in (PHI_BUCKET, IMAGING_BUCKET, "medivault-phi-exports"):
        arn = f"arn:aws:s3:::{bucket}"
        assert evaluate(policy, "s3:PutBucketVersioning", arn, {"aws:PrincipalArn": CDK_EXEC_ROLE}) == "Implicit", bucket
        assert denying_sids(policy, "s3:PutBucketVersioning", arn, {"aws:PrincipalArn": DEVELOPER_SSO}) == {"DenyVersioningChangesOnPhiBuckets"}
        assert evaluate(policy, "s3:PutBucketVersioning", arn, {"aws:PrincipalArn": BREAK_GLASS_SSO}) == "Implicit"
    tagged = {"aws:PrincipalArn": DEVELOPER_SSO, "aws:ResourceTag/data-class": "phi"}
    assert evaluate(policy, "s3:PutBucketVersioning", "arn:aws:s3:::records-eu", tagged) == "Deny"
    assert evaluate(policy, "s3:PutBucketVersioning", "arn:aws:s3:::records-eu", {**tagged, "aws:PrincipalArn": CDK_EXEC_ROLE}) == "Implicit"
    # The bucket policy resource is not retained: CloudFormation deletes it on a rollback.
    assert evaluate(policy, "s3:DeleteBucketPolicy", f"arn:aws:s3:::{PHI_BUCKET}", {"aws:PrincipalArn": CDK_EXEC_ROLE}) == "Implicit"
    assert evaluate(policy, "s3:DeleteBucketPolicy", f"arn:aws:s3:::{PHI_BUCKET}", {"aws:PrincipalArn": DEVELOPER_SSO}) == "Deny"


def test_phi_data_key_is_never_destroyed_and_its_policy_changes_only_on_deploy(synth: Synthesized) -> None:
    """Issue 15 item 4 (SCP part). On keys whose alias matches alias/medivault/*/data
    (``kms:ResourceAliases``, https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases):
    ScheduleKeyDeletion, DisableKey, DisableKeyRotation, DeleteImportedKeyMaterial only by break-glass,
    the execution role included (the production data key is retained: CloudFormation never schedules
    its deletion); PutKeyPolicy and tag changes by the execution role (the key policy is updated on
    deploy) and break-glass; the alias is not moved or deleted by people. Production OU only: the
    sandbox (its own OU) must schedule its keys' deletion on teardown."""
    policy = _scp(synth, "MediVault-ProtectPhiStorage")
    phi = {"kms:ResourceAliases": ["alias/medivault/production/data"]}
    for action in ("kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation", "kms:DeleteImportedKeyMaterial"):
        for principal in (DEVELOPER_SSO, CDK_EXEC_ROLE):
            assert denying_sids(policy, action, PHI_KEY, {**phi, "aws:PrincipalArn": principal}) == {"DenyDestroyingPhiKeys"}, (action, principal)
        assert evaluate(policy, action, PHI_KEY, {**phi, "aws:PrincipalArn": BREAK_GLASS_ROLE}) == "Implicit"
        # Other keys (logs, backup) are not concerned.
        assert (
            evaluate(policy, action, PHI_KEY, {"kms:ResourceAliases": ["alias/medivault/production/logs"], "aws:PrincipalArn": DEVELOPER_SSO})
            == "Implicit"
        )
    for action in ("kms:PutKeyPolicy", "kms:UntagResource", "kms:TagResource"):
        assert denying_sids(policy, action, PHI_KEY, {**phi, "aws:PrincipalArn": DEVELOPER_SSO}) == {"DenyPhiKeyPolicyChanges"}
        assert evaluate(policy, action, PHI_KEY, {**phi, "aws:PrincipalArn": CDK_EXEC_ROLE}) == "Implicit"
    alias = f"arn:aws:kms:eu-central-1:{PROD}:alias/medivault/production/data"
    assert denying_sids(policy, "kms:UpdateAlias", alias, {"aws:PrincipalArn": DEVELOPER_SSO}) == {"DenyMovingPhiKeyAlias"}
    assert evaluate(policy, "kms:DeleteAlias", alias, {"aws:PrincipalArn": CDK_EXEC_ROLE}) == "Implicit"
    targets = resources_of(synth.organization_template("guardrails"), "AWS::Organizations::Policy")
    phi_targets = next(p["Properties"]["TargetIds"] for p in targets.values() if p["Properties"]["Name"] == "MediVault-ProtectPhiStorage")
    assert len(phi_targets) == 1 and "Production" in json.dumps(phi_targets)


BREAK_GLASS_ACTIONS = (
    "iam:CreateRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:AttachRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:DeleteRole",
    "iam:PassRole",
)


@pytest.mark.parametrize("action", BREAK_GLASS_ACTIONS)
def test_only_the_provisioning_path_can_create_or_change_the_break_glass_role(synth: Synthesized, action: str) -> None:
    """Issue 15 item 3. The SCP exemptions match the break-glass role by ARN; whoever could create or
    re-trust a role with that name would inherit them. Only the role service-managed StackSets
    create in each member account (``stacksets-exec-*``, the role the StackSets org-admin
    service-linked role assumes:
    https://docs.aws.amazon.com/aws-managed-policy/latest/reference/CloudFormationStackSetsOrgAdminServiceRolePolicy.html)
    may; that role itself cannot be created or changed by anyone (its service-linked role is not
    subject to SCPs: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html).
    Break-glass cannot re-trust itself either."""
    policy = _scp(synth, "MediVault-ProtectPrivilegedRoles")
    roles = (
        f"arn:aws:iam::{PROD}:role/medivault-break-glass/MediVaultBreakGlass",
        f"arn:aws:iam::{PROD}:role/other-path/MediVaultBreakGlass",  # the name in another path
        f"arn:aws:iam::{PROD}:role/medivault-break-glass/Anything",
        f"arn:aws:iam::{PROD}:role/aws-reserved/sso.amazonaws.com/eu-central-1/AWSReservedSSO_MediVault-BreakGlassAdmin_0123",
    )
    for role in roles:
        for principal in (DEVELOPER_SSO, CDK_EXEC_ROLE, BREAK_GLASS_ROLE, BREAK_GLASS_SSO):
            assert denying_sids(policy, action, role, {"aws:PrincipalArn": principal}) == {"ProtectBreakGlassRole"}, (role, principal)
        assert evaluate(policy, action, role, {"aws:PrincipalArn": STACKSETS_ROLE}) == "Implicit", role
    provisioning = f"arn:aws:iam::{PROD}:role/stacksets-exec-abc"
    for principal in (DEVELOPER_SSO, BREAK_GLASS_SSO, STACKSETS_ROLE):
        assert denying_sids(policy, action, provisioning, {"aws:PrincipalArn": principal}) == {"ProtectProvisioningRole"}
    # Ordinary roles are not concerned.
    assert evaluate(policy, action, f"arn:aws:iam::{PROD}:role/Production-App-TaskRole-1", {"aws:PrincipalArn": CDK_EXEC_ROLE}) == "Implicit"


def test_cdk_and_delivery_roles_are_protected_like_break_glass(synth: Synthesized) -> None:
    """The region SCP exempts the CDK bootstrap roles (cdk-hnb659fds-*) and the pipeline's roles
    (/medivault-delivery/) in us-east-1, so they are protected the same way: bootstrap roles only by
    break-glass (who runs cdk bootstrap) or StackSets; delivery roles only by the CDK execution role
    (the pipeline stack creates them) or break-glass. The deploy role must still pass the execution
    role to CloudFormation."""
    policy = _scp(synth, "MediVault-ProtectPrivilegedRoles")
    exec_role = f"arn:aws:iam::{PROD}:role/cdk-hnb659fds-cfn-exec-role-{PROD}-eu-central-1"
    for principal, expected in ((DEVELOPER_SSO, "Deny"), (CDK_EXEC_ROLE, "Deny"), (BREAK_GLASS_SSO, "Implicit"), (STACKSETS_ROLE, "Implicit")):
        assert evaluate(policy, "iam:UpdateAssumeRolePolicy", exec_role, {"aws:PrincipalArn": principal}) == expected, principal
    assert evaluate(policy, "iam:PassRole", exec_role, {"aws:PrincipalArn": CDK_DEPLOY_ROLE}) == "Implicit"
    delivery = "arn:aws:iam::444444444444:role/medivault-delivery/MediVault-Pipeline-PipelineRole-1"
    assert (
        evaluate(
            policy,
            "iam:CreateRole",
            delivery,
            {"aws:PrincipalArn": "arn:aws:iam::444444444444:role/cdk-hnb659fds-cfn-exec-role-444444444444-eu-central-1"},
        )
        == "Implicit"
    )
    assert (
        evaluate(
            policy,
            "iam:PassRole",
            delivery,
            {"aws:PrincipalArn": "arn:aws:iam::444444444444:role/cdk-hnb659fds-cfn-exec-role-444444444444-eu-central-1"},
        )
        == "Implicit"
    )
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:PassRole"):
        assert denying_sids(policy, action, delivery, {"aws:PrincipalArn": DEVELOPER_SSO}) == {"ProtectDeliveryRoles"}, action


def test_every_ou_stays_within_the_scp_quota_with_the_new_policies(synth: Synthesized) -> None:
    """AWS Organizations allows at most 5 SCPs attached directly to a root, OU or account, and 5,120
    characters per SCP (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html);
    FullAWSAccess takes one slot. Inherited SCPs do not count against an OU's own quota."""
    documents = {doc.name: doc for doc in scp_documents(scp_settings(organization()), ["arn:aws:iam::*:role/x"]).values()}
    assert all(len(doc.minified()) <= SCP_MAX_CHARACTERS for doc in documents.values())
    config = organization()
    for target in ("root", "security", "production", "sandbox"):
        attached = [key for key, targets in config.scp_targets.items() if target in targets]
        assert len(attached) + 1 <= 5, (target, attached)


def test_scp_validation_rejects_what_organizations_would() -> None:
    huge = ScpDocument(
        "x",
        "Huge",
        "too big to attach",
        {"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Deny", "Action": ["s3:" + "x" * 6000], "Resource": "*"}]},
    )
    with pytest.raises(ValueError, match="over the 5120-character limit"):
        validate_scp(huge)
    allow = ScpDocument(
        "x", "Allow", "grants something", {"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    with pytest.raises(ValueError, match="only deny"):
        validate_scp(allow)
    no_sid = ScpDocument("x", "NoSid", "no sid", {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
    with pytest.raises(ValueError, match="unique Sid"):
        validate_scp(no_sid)


def test_scp_generator_validates_every_document() -> None:
    config = dataclasses.replace(organization(), phi_bucket_name_patterns=tuple(f"*phi{i:03d}-{'x' * 50}*" for i in range(60)))
    with pytest.raises(ValueError, match=r"MediVault-ProtectPhiStorage is \d+ characters, over the 5120-character limit"):
        scp_documents(scp_settings(config), ["arn:aws:iam::*:role/break-glass/BreakGlass"])


# ---------------------------------------------------------------- permission sets


def test_permission_sets_managed_policies_and_sessions(synth: Synthesized) -> None:
    sets = _permission_sets(synth)
    summary = {name: (p.get("ManagedPolicies", []), p["SessionDuration"], "InlinePolicy" in p) for name, p in sets.items()}
    assert summary == {
        "MediVault-ReadOnly": ([VIEW_ONLY_ACCESS], "PT4H", True),
        "MediVault-Developer": ([VIEW_ONLY_ACCESS], "PT4H", True),
        "MediVault-PhiDataAccess": ([], "PT1H", True),
        "MediVault-SecurityAudit": ([SECURITY_AUDIT], "PT4H", True),
        "MediVault-BreakGlassAdmin": ([ADMINISTRATOR_ACCESS], "PT1H", False),
    }
    assert all(p["InstanceArn"] == "arn:aws:sso:::instance/ssoins-0000000000000000" for p in sets.values())


PHI_REQUESTS = [
    ("s3:GetObject", f"arn:aws:s3:::{PHI_BUCKET}/patients/42/scan.dcm", {}),
    ("s3:PutObject", f"arn:aws:s3:::{PHI_BUCKET}/patients/42/scan.dcm", {}),
    ("s3:GetObjectVersion", f"arn:aws:s3:::{PHI_BUCKET}/patients/42/scan.dcm", {}),
    ("s3:ListBucket", f"arn:aws:s3:::{PHI_BUCKET}", {}),
    ("s3:GetObject", f"arn:aws:s3:::{IMAGING_BUCKET}/mri/7.dcm", {}),
    # a PHI bucket with an unexpected name but the data-class tag (S3 ABAC enabled)
    ("s3:GetObject", "arn:aws:s3:::records-eu/x", {"aws:ResourceTag/data-class": "phi"}),
    # an object tagged as PHI in any bucket
    ("s3:GetObject", "arn:aws:s3:::anything/x", {"s3:ExistingObjectTag/data-class": "phi"}),
    # the PHI key: S3 (SSE-KMS) and Secrets Manager decrypt with the caller's permissions
    ("kms:Decrypt", f"arn:aws:kms:eu-central-1:{PROD}:key/1234", {"kms:ResourceAliases": ["alias/medivault/production/data"]}),
    ("kms:GenerateDataKey", f"arn:aws:kms:eu-central-1:{PROD}:key/1234", {"kms:ResourceAliases": ["alias/medivault/production/data"]}),
    ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:eu-central-1:{PROD}:secret:db", {"aws:ResourceTag/data-class": "phi"}),
    ("rds-db:connect", f"arn:aws:rds-db:eu-central-1:{PROD}:dbuser:cluster-1/app", {}),
    ("ecs:ExecuteCommand", f"arn:aws:ecs:eu-central-1:{PROD}:task/app/1", {}),
]


@pytest.mark.parametrize("name", ["MediVault-ReadOnly", "MediVault-Developer", "MediVault-PhiDataAccess", "MediVault-SecurityAudit"])
@pytest.mark.parametrize(("action", "resource", "context"), PHI_REQUESTS)
def test_no_permission_set_but_break_glass_touches_phi_directly(
    synth: Synthesized, name: str, action: str, resource: str, context: dict[str, Any]
) -> None:
    assert evaluate(_permission_sets(synth)[name]["InlinePolicy"], action, resource, context) == "Deny"


def test_phi_denies_do_not_block_other_data(synth: Synthesized) -> None:
    policy = _permission_sets(synth)["MediVault-Developer"]["InlinePolicy"]
    assert (
        evaluate(policy, "kms:Decrypt", "arn:aws:kms:eu-central-1:1:key/9", {"kms:ResourceAliases": ["alias/medivault/production/logs"]})
        == "Implicit"
    )
    assert evaluate(policy, "s3:GetObject", "arn:aws:s3:::production-edge-logs/x", {}) == "Implicit"
    service_logs = f"arn:aws:logs:eu-central-1:{PROD}:log-group:Production-App-ServiceLogs24DEC314-a1b2c3"
    assert evaluate(policy, "logs:FilterLogEvents", service_logs, {}) == "Allow"


def test_developer_grants_only_observability_and_sandbox_cdk_roles(synth: Synthesized) -> None:
    statements = _permission_sets(synth)["MediVault-Developer"]["InlinePolicy"]["Statement"]
    allows = {s["Sid"]: s for s in statements if s["Effect"] == "Allow"}
    assert set(allows) == {"ObserveWorkloads", "ReadWorkloadLogs", "ReadOwnQueryResults", "DeploySandboxThroughCdkRoles"}
    assert not [a for a in allows["ObserveWorkloads"]["Action"] if a.split(":")[0] in ("s3", "kms", "secretsmanager", "rds", "rds-data", "dynamodb")]
    assert allows["DeploySandboxThroughCdkRoles"]["Action"] == ["sts:AssumeRole"]
    assert allows["DeploySandboxThroughCdkRoles"]["Resource"] == [f"arn:aws:iam::{SANDBOX}:role/cdk-hnb659fds-*"]
    policy = {"Statement": statements}
    assert evaluate(policy, "sts:AssumeRole", f"arn:aws:iam::{PROD}:role/cdk-hnb659fds-deploy-role-{PROD}-eu-central-1") == "Implicit"


def test_phi_data_access_only_through_app_roles_with_source_identity(synth: Synthesized) -> None:
    policy = _permission_sets(synth)["MediVault-PhiDataAccess"]["InlinePolicy"]
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "AssumePhiAccessRolesWithSourceIdentity",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
            "Resource": [f"arn:aws:iam::{PROD}:role/medivault-phi-access/*", f"arn:aws:iam::{SANDBOX}:role/medivault-phi-access/*"],
            "Condition": {"Null": {"sts:SourceIdentity": "false"}},
        }
    ]
    reader = f"arn:aws:iam::{PROD}:role/medivault-phi-access/RecordsReader"
    assert evaluate(policy, "sts:AssumeRole", reader, {"sts:SourceIdentity": "dr.alice@clinic.example"}) == "Allow"
    assert evaluate(policy, "sts:AssumeRole", reader, {}) == "Implicit"  # no source identity, no PHI
    assert evaluate(policy, "sts:AssumeRole", f"arn:aws:iam::{PROD}:role/cdk-hnb659fds-deploy-role", {"sts:SourceIdentity": "x"}) == "Implicit"


def test_assignments_come_from_config(synth: Synthesized) -> None:
    template = synth.organization_template("identity_center")
    assignments = resources_of(template, "AWS::SSO::Assignment")
    sets = {lid: p["Properties"]["Name"] for lid, p in resources_of(template, "AWS::SSO::PermissionSet").items()}
    found = sorted(
        (sets[a["Properties"]["PermissionSetArn"]["Fn::GetAtt"][0]], a["Properties"]["PrincipalId"], a["Properties"]["TargetId"])
        for a in assignments.values()
    )
    config = synth.organization.config if synth.organization else organization()
    expected = sorted(
        (permission_set_specs(permission_set_settings(config))[a.permission_set].name, a.group_id, account)
        for a in config.assignments
        for account in config.accounts_of(a.organizational_units)
    )
    assert found == expected
    assert len(found) == 11  # 2 + 2 + 1 + 3 + 3 group-account pairs
    assert all(a["Properties"]["PrincipalType"] == "GROUP" and a["Properties"]["TargetType"] == "AWS_ACCOUNT" for a in assignments.values())
    assert ("MediVault-PhiDataAccess", "00000000-0000-0000-0000-000000000003", SANDBOX) not in found


# ---------------------------------------------------------------- deploy guard


def test_placeholders_refuse_deploy_in_both_stacks(synth: Synthesized) -> None:
    for stack in ("guardrails", "identity_center"):
        rules = synth.organization_template(stack).to_json()["Rules"]
        message = rules["RefusePlaceholderDeploy"]["Assertions"][0]["AssertDescription"]
        assert "organization.instance_arn" in message and "organization.assignments[*].group_id" in message
        assert "organization.root_id" in message


def _configured_stage() -> OrganizationStage:
    config = dataclasses.replace(
        organization("345678901234", sandbox_account=SANDBOX, production_account=PROD),
        instance_arn="arn:aws:sso:::instance/ssoins-69870abcdef12345",
        root_id="r-ab12",
    )
    config = dataclasses.replace(
        config,
        organizational_units={
            **config.organizational_units,
            "security": dataclasses.replace(config.organizational_units["security"], account_ids=("555566667777",)),
        },
        assignments=tuple(dataclasses.replace(a, group_id=f"906745e3-1234-4321-aaaa-00000000000{i}") for i, a in enumerate(config.assignments)),
    )
    assert config.placeholders() == []
    return OrganizationStage(cdk.App(), config=config)


def test_configured_organization_deploys_without_guard_and_uses_its_ids() -> None:
    stage = _configured_stage()
    guardrails = Template.from_stack(stage.guardrails).to_json()
    assert "RefusePlaceholderDeploy" not in guardrails.get("Rules", {})
    assert "Metadata" not in guardrails or "cfn-lint" not in guardrails["Metadata"]
    assert {
        u["Properties"]["ParentId"] for u in resources_of(Template.from_stack(stage.guardrails), "AWS::Organizations::OrganizationalUnit").values()
    } == {"r-ab12"}
    identity = Template.from_stack(stage.identity_center)
    assert "RefusePlaceholderDeploy" not in identity.to_json().get("Rules", {})
    targets = {a["Properties"]["TargetId"] for a in resources_of(identity, "AWS::SSO::Assignment").values()}
    assert targets == {PROD, SANDBOX, "555566667777"}
    principals = {a["Properties"]["PrincipalId"] for a in resources_of(identity, "AWS::SSO::Assignment").values()}
    assert principals == {f"906745e3-1234-4321-aaaa-00000000000{i}" for i in range(5)}


def test_organization_resources_are_tagged_and_traced(synth: Synthesized) -> None:
    for stack in ("guardrails", "identity_center"):
        template = synth.organization_template(stack)
        for resource_type in ("AWS::Organizations::OrganizationalUnit", "AWS::Organizations::Policy", "AWS::SSO::PermissionSet"):
            for lid, resource in resources_of(template, resource_type).items():
                tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
                assert tags == {"project": "medivault-eu", "environment": "organization"}, lid
    stage = synth.organization
    assert stage is not None
    traced = {
        construct.node.path: entry.data["requirements"]
        for root in (stage.guardrails, stage.identity_center)
        for construct in root.node.find_all()
        for entry in construct.node.metadata
        if entry.type == "medivault:trace"
    }
    assert traced["Organization/Guardrails/Scps/DenyOutsideEuRegions"] == ["R1"]
    assert traced["Organization/Guardrails/Scps/DenyRootUser"] == ["R3"]
    assert traced["Organization/IdentityCenter/PermissionSets"] == ["R3"]


EVIDENCE_LOGS = (
    "Production-Audit-TrailLogs3B05809D-Ab12Cd34",  # CloudTrail management and S3 data events
    "aws-waf-logs-medivault-production",  # client IPs of every request
    "Production-Network-NetworkFlowLogs2BEC3212-Ab12",  # flow logs
    "/aws/rds/cluster/medivault-production-records/postgresql",  # pgaudit statements
    "Production-Data-CacheSlowLog43E55961-Ab12",
)


@pytest.mark.parametrize("log_group", EVIDENCE_LOGS)
def test_developers_cannot_read_production_evidence_logs(synth: Synthesized, log_group: str) -> None:
    """Issue 15 item 9: the developer set read every log group of every account, production's
    CloudTrail data events and WAF logs (client IPs, personal data under GDPR) included. Log reads are
    resource-level on log groups
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html):
    production evidence log groups are explicitly denied to the developer, read-only and PHI sets;
    the developer reads the workload's own production logs and everything in the sandbox."""
    sets = _permission_sets(synth)
    arn = f"arn:aws:logs:eu-central-1:{PROD}:log-group:{log_group}"
    for name in ("MediVault-Developer", "MediVault-ReadOnly", "MediVault-PhiDataAccess"):
        policy = sets[name]["InlinePolicy"]
        for action in ("logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "logs:StartLiveTail"):
            assert denying_sids(policy, action, arn) == {"DenyProductionEvidenceLogs"}, (name, action)
            assert denying_sids(policy, action, f"{arn}:log-stream:x") == {"DenyProductionEvidenceLogs"}, (name, action)


def test_developers_read_the_workload_logs_they_need(synth: Synthesized) -> None:
    policy = _permission_sets(synth)["MediVault-Developer"]["InlinePolicy"]
    for group in (
        "Production-App-ServiceLogs24DEC314-Ab12",
        "Production-Audit-FindingsNotifierLogs86D1C715-Ab12",
        "Production-Backup-ReadinessLogs4CAAA01D-x",
    ):
        assert evaluate(policy, "logs:FilterLogEvents", f"arn:aws:logs:eu-central-1:{PROD}:log-group:{group}") == "Allow", group
    # Everything of the sandbox, its trail logs included (synthetic data only).
    assert evaluate(policy, "logs:StartQuery", f"arn:aws:logs:eu-central-1:{SANDBOX}:log-group:Sandbox-Audit-TrailLogs3B05809D-x") == "Allow"
    # Nothing of other accounts, nor unknown production groups.
    assert evaluate(policy, "logs:GetLogEvents", "arn:aws:logs:eu-central-1:999999999999:log-group:x") == "Implicit"
    assert evaluate(policy, "logs:GetLogEvents", f"arn:aws:logs:eu-central-1:{PROD}:log-group:/some/new/group") == "Implicit"
