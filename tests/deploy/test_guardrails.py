"""Guardrails vs deploy (issue 14): no service control policy may block a deploy, an update or a
rollback of our own stacks, while the same SCPs still deny the same sensitive calls to a developer.

For every resource of every stack (Sandbox, Production, the pipeline, its replication stacks and the
pipeline's own copies of both stages), the IAM actions CloudFormation's create, update and delete
handlers need come from the resource provider schemas cfn-lint ships
(https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html,
``handlers.<operation>.permissions``). Each becomes a request made by the CDK CloudFormation execution
role (https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html) in the stack's region, with
``aws:PrincipalArn``, ``aws:RequestedRegion``, tags and key aliases as AWS would send them
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html), and is
evaluated with tests/stacks/iam_eval.py against the SCPs attached to the account's OU and the root.
An explicit Deny in any SCP that applies to the account denies the request
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html);
SCPs never restrict the management account or service-linked roles.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest

from tests.conftest import CONCRETE_ACCOUNTS, CONCRETE_ORGANIZATION_ACCOUNT, PipelineSynthesized, Synthesized
from tests.deploy import guardrails_model as gm

pytestmark = pytest.mark.requirements("R3", "R1", "R7", "R16")

PROD = CONCRETE_ACCOUNTS["production"]


def _scps(synth: Synthesized) -> list[gm.AttachedScp]:
    assert synth.organization is not None
    return gm.attached_scps(synth.organization_template("guardrails").to_json(), synth.organization.config)


def _all_stacks(synth: Synthesized, pipeline_synth: PipelineSynthesized) -> list[gm.StackUnderTest]:
    return [*gm.stacks_of(synth.outdir), *gm.stacks_of(pipeline_synth.outdir)]


def _member_stacks(stacks: list[gm.StackUnderTest]) -> list[gm.StackUnderTest]:
    return [s for s in stacks if s.account != CONCRETE_ORGANIZATION_ACCOUNT]


def _exec_requests(stacks: list[gm.StackUnderTest]) -> Iterator[tuple[gm.StackUnderTest, gm.Request]]:
    for stack in stacks:
        for request in gm.deploy_requests(stack, gm.cdk_exec_role(stack.account, stack.region)):
            yield stack, request


def test_the_rehearsal_covers_every_stack_and_every_resource_type(synth: Synthesized, pipeline_synth: PipelineSynthesized) -> None:
    """Every stack of both stages, the pipeline, its replication stacks and the pipeline's stage copies
    is in scope; every resource type has a provider schema with handlers or a NO_SCHEMA entry with a
    reason (a new type fails here until someone decides what CloudFormation calls for it)."""
    stacks = _all_stacks(synth, pipeline_synth)
    names = {s.name for s in stacks}
    for stage in ("Sandbox", "Production"):
        assert {f"{stage}-Data", f"{stage}-EdgeGlobal", f"{stage}-DrVault", f"{stage}-Audit"} <= names
    assert {"MediVault-Pipeline", "MediVault-Pipeline-Replication-eu-west-1", "MediVault-Pipeline-Replication-us-east-1"} <= names
    pipeline_copies = [s for s in gm.stacks_of(pipeline_synth.outdir) if s.account in CONCRETE_ACCOUNTS.values()]
    assert len(pipeline_copies) >= 2 * 10
    # The organisation stage deploys into the management account, which no SCP restricts.
    organization = [s for s in stacks if s.name.startswith("Organization-")]
    assert organization and all(s.account == CONCRETE_ORGANIZATION_ACCOUNT for s in organization)
    missing = {r["Type"] for s in stacks for r in s.resources.values() if gm.handler_permissions(r["Type"], s.region) is None}
    assert missing == set()
    # No stale entries (AWS::CDK::Metadata appears when version reporting is on, as in make synth).
    assert set(gm.NO_SCHEMA) - {"AWS::CDK::Metadata"} <= {r["Type"] for s in stacks for r in s.resources.values()}
    for entry in gm.NO_SCHEMA.values():
        assert len(entry.reason) > 40
    # The schemas are real: a versioned bucket's create handler calls PutBucketVersioning.
    assert "s3:PutBucketVersioning" in (gm.handler_permissions("AWS::S3::Bucket", "eu-central-1") or {})["create"]


def test_no_scp_blocks_a_deploy_an_update_or_a_rollback(synth: Synthesized, pipeline_synth: PipelineSynthesized) -> None:
    """Every create, update and delete call (delete: unless the resource is retained on deletion and
    replacement, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html)
    of every member-account stack, as the CDK execution role of that account and region."""
    scps = _scps(synth)
    stacks = _member_stacks(_all_stacks(synth, pipeline_synth))
    blocked: list[str] = []
    count = 0
    for stack, request in _exec_requests(stacks):
        count += 1
        denied = gm.denials(scps, stack.account, request)
        if denied:
            blocked.append(f"{request.describe()} <- {', '.join(denied)}")
    assert count > 10_000  # every handler permission of ~1,500 resources
    assert blocked == [], "\n".join(sorted(set(blocked))[:40])


def test_no_scp_blocks_what_our_custom_resources_and_pipeline_do_at_run_time(synth: Synthesized, pipeline_synth: PipelineSynthesized) -> None:
    """The roles of custom-resource functions (CloudFormation invokes them; they then call AWS as
    their own role) and the delivery pipeline's roles (CodePipeline copies artifacts into the
    us-east-1 and eu-west-1 replication buckets with its service role,
    https://docs.aws.amazon.com/codepipeline/latest/userguide/actions-create-cross-region.html):
    every action on every resource of their policies, in the resource's region."""
    scps = _scps(synth)
    stacks = _member_stacks(_all_stacks(synth, pipeline_synth))
    regions = gm.bucket_regions(stacks)
    requests = [(s, r) for s in stacks for r in gm.runtime_requests(s, regions)]
    why = {r.resource_type for _, r in requests}
    assert {"delivery pipeline", "custom resource Custom::VpcRestrictDefaultSG"} <= why
    # The pipeline role does write the us-east-1 replication bucket: the case the region SCP must allow.
    assert any(r.context["aws:RequestedRegion"] == "us-east-1" and r.action == "s3:PutObject" for _, r in requests)
    blocked = [f"{r.describe()} as {r.context['aws:PrincipalArn']} <- {d}" for s, r in requests if (d := gm.denials(scps, s.account, r))]
    assert blocked == [], "\n".join(blocked[:40])


# The calls only the deployment path may make: each must occur in the assembly, be allowed to the CDK
# execution role (above) and be denied to a developer by the same SCPs (stack, type, action).
PHI_BUCKET = r"arn:aws:s3:::production-data-(records|imaging)bucket"
SENSITIVE_CALLS = [
    ("Production-Data", "AWS::S3::Bucket", "s3:PutBucketVersioning", PHI_BUCKET, "MediVault-ProtectPhiStorage/DenyVersioningChangesOnPhiBuckets"),
    (
        "Production-Data",
        "AWS::S3::Bucket",
        "s3:PutBucketObjectLockConfiguration",
        PHI_BUCKET,
        "MediVault-ProtectPhiStorage/DenyObjectLockChangesOnPhiBuckets",
    ),
    (
        "Production-Data",
        "AWS::S3::BucketPolicy",
        "s3:DeleteBucketPolicy",
        PHI_BUCKET,
        "MediVault-ProtectPhiStorage/DenyVersioningChangesOnPhiBuckets",
    ),
    ("Production-Keys", "AWS::KMS::Key", "kms:PutKeyPolicy", r"key/datakey", "MediVault-ProtectPhiStorage/DenyPhiKeyPolicyChanges"),
    (
        "Production-Keys",
        "AWS::KMS::Alias",
        "kms:DeleteAlias",
        r"alias/medivault/production/data$",
        "MediVault-ProtectPhiStorage/DenyMovingPhiKeyAlias",
    ),
    (
        "Production-Audit",
        "AWS::CloudTrail::Trail",
        "cloudtrail:DeleteTrail",
        "",
        "MediVault-ProtectSecurityServices/DenyDeletingSecurityServicesExceptDeployRole",
    ),
    (
        "Production-Audit",
        "AWS::Config::ConfigurationRecorder",
        "config:DeleteConfigurationRecorder",
        "",
        "MediVault-ProtectSecurityServices/DenyDeletingSecurityServicesExceptDeployRole",
    ),
    (
        "Production-EdgeGlobal",
        "AWS::KMS::Key",
        "kms:CreateKey",
        "",
        "MediVault-DenyOutsideEuRegions/DenyEdgeRegionDeploymentServicesExceptDeployRoles",
    ),
    (
        "Production-EdgeGlobal",
        "AWS::Logs::LogGroup",
        "logs:CreateLogGroup",
        "",
        "MediVault-DenyOutsideEuRegions/DenyEdgeRegionDeploymentServicesExceptDeployRoles",
    ),
    (
        "MediVault-Pipeline-Replication-us-east-1",
        "AWS::S3::Bucket",
        "s3:CreateBucket",
        "",
        "MediVault-DenyOutsideEuRegions/DenyEdgeRegionDeploymentServicesExceptDeployRoles",
    ),
    ("MediVault-Pipeline", "AWS::IAM::Role", "iam:CreateRole", "/medivault-delivery/", "MediVault-ProtectPrivilegedRoles/ProtectDeliveryRoles"),
]


@pytest.mark.parametrize(("stack_name", "resource_type", "action", "target", "statement"), SENSITIVE_CALLS)
def test_the_same_scps_deny_the_deploy_calls_to_a_developer(
    synth: Synthesized, pipeline_synth: PipelineSynthesized, stack_name: str, resource_type: str, action: str, target: str, statement: str
) -> None:
    """Both directions for the sensitive calls: what the execution role may do on deploy (Object Lock and
    versioning of PHI buckets, a PHI key's policy, deleting the trail or recorder on a rollback,
    anything in us-east-1, the delivery roles) a developer role making the same request is denied,
    by the named SCP statement."""
    scps = _scps(synth)
    stacks = [s for s in _all_stacks(synth, pipeline_synth) if s.name == stack_name]
    assert stacks, stack_name
    matched = 0
    for stack in stacks:
        developer = gm.developer_role(stack.account)
        for request in gm.deploy_requests(stack, gm.cdk_exec_role(stack.account, stack.region)):
            if request.resource_type != resource_type or request.action != action or not re.search(target, request.resource):
                continue
            matched += 1
            assert gm.denials(scps, stack.account, request) == [], request.describe()
            as_developer = dataclasses.replace(request, context={**request.context, "aws:PrincipalArn": developer})
            assert statement in gm.denials(scps, stack.account, as_developer), request.describe()
    assert matched, f"{action} on {resource_type} no longer occurs in {stack_name}: update SENSITIVE_CALLS"


def test_the_phi_data_key_is_never_destroyed_by_a_deploy(synth: Synthesized) -> None:
    """kms:ScheduleKeyDeletion / DisableKey on the production PHI data key are denied to the execution
    role too (break-glass only): so CloudFormation must never need them there, which holds because
    the key is retained (its delete handler never runs) and enabled with rotation on."""
    scps = _scps(synth)
    keys = [s for s in gm.stacks_of(synth.outdir) if s.name == "Production-Keys"]
    assert len(keys) == 1
    stack = keys[0]
    data_keys = [
        lid for lid, r in stack.resources.items() if r["Type"] == "AWS::KMS::Key" and "alias/medivault/production/data" in gm.key_aliases(stack, lid)
    ]
    assert len(data_keys) == 1
    resource = stack.resources[data_keys[0]]
    assert gm.retained(resource)
    arn = gm.key_arn(stack, data_keys[0])
    context = {
        "aws:PrincipalArn": gm.cdk_exec_role(PROD, "eu-central-1"),
        "aws:RequestedRegion": "eu-central-1",
        "kms:ResourceAliases": ("alias/medivault/production/data",),
    }
    for action in ("kms:ScheduleKeyDeletion", "kms:DisableKey"):
        request = gm.Request(stack.name, data_keys[0], "AWS::KMS::Key", "manual", action, arn, context)
        assert "MediVault-ProtectPhiStorage/DenyDestroyingPhiKeys" in gm.denials(scps, PROD, request)
    requests = [r for r in gm.deploy_requests(stack, context["aws:PrincipalArn"]) if r.logical_id == data_keys[0]]
    assert {r.action for r in requests} >= {"kms:CreateKey", "kms:PutKeyPolicy"}
    assert not {r.action for r in requests} & {"kms:ScheduleKeyDeletion", "kms:DisableKey"}
    # The sandbox is torn down: its data key is not retained, CloudFormation schedules its deletion,
    # and no SCP stops that (the sandbox OU does not get MediVault-ProtectPhiStorage).
    sandbox = next(s for s in gm.stacks_of(synth.outdir) if s.name == "Sandbox-Keys")
    sandbox_key = next(lid for lid in sandbox.resources if "alias/medivault/sandbox/data" in gm.key_aliases(sandbox, lid))
    assert not gm.retained(sandbox.resources[sandbox_key])
    teardown = [
        r
        for r in gm.deploy_requests(sandbox, gm.cdk_exec_role(sandbox.account, sandbox.region))
        if r.logical_id == sandbox_key and r.action == "kms:ScheduleKeyDeletion"
    ]
    assert teardown and all(gm.denials(scps, sandbox.account, r) == [] for r in teardown)


def test_the_model_finds_todays_versioning_blocker(synth: Synthesized) -> None:
    """Regression guard for issue 14 defect 4: against the SCP as it was (PutBucketVersioning denied on
    PHI buckets to all but break-glass), the rehearsal reports the production PHI buckets' create."""
    scps = _scps(synth)
    old = []
    for scp in scps:
        document = scp.document
        if scp.name == "MediVault-ProtectPhiStorage":
            exempt_only_break_glass = {"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/medivault-break-glass/MediVaultBreakGlass"]}}
            document = {
                **document,
                "Statement": [
                    *document["Statement"],
                    {
                        "Sid": "DenyDeletingPhiBucketsAsBefore",
                        "Effect": "Deny",
                        "Action": ["s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning"],
                        "Resource": [f"arn:aws:s3:::{p}" for p in ("*-data-recordsbucket*", "*-data-imagingbucket*", "*phi*")],
                        "Condition": exempt_only_break_glass,
                    },
                ],
            }
        old.append(gm.AttachedScp(scp.name, document, scp.accounts))
    data = [s for s in gm.stacks_of(synth.outdir) if s.name == "Production-Data"]
    blocked = {
        (r.logical_id, r.action)
        for s in data
        for r in gm.deploy_requests(s, gm.cdk_exec_role(s.account, s.region))
        if "MediVault-ProtectPhiStorage/DenyDeletingPhiBucketsAsBefore" in gm.denials(old, s.account, r)
    }
    assert {a for _, a in blocked} == {"s3:PutBucketVersioning", "s3:DeleteBucketPolicy"}
    assert {lid for lid, a in blocked if a == "s3:PutBucketVersioning"} == {
        lid for lid, r in data[0].resources.items() if r["Type"] == "AWS::S3::Bucket" and lid.startswith(("RecordsBucket", "ImagingBucket"))
    }
