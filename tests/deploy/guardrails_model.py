"""Guardrails vs deploy: the calls CloudFormation (and our custom resources) make for every resource
of a synthesized cloud assembly, as requests an IAM evaluator can judge against the SCPs.

- ``stacks_of(outdir)`` walks a cloud assembly (nested stage assemblies included) and returns each
  stack with its account, region and template.
- ``handler_permissions(type, region)`` reads the CloudFormation resource provider schema cfn-lint
  ships (``providers/<region>.json`` maps a type to a hash, ``resources/<hash>.json`` holds
  ``handlers.{create,update,delete}.permissions``): the IAM actions CloudFormation's handlers need.
  Types without a schema or handlers are listed in ``NO_SCHEMA`` with what CloudFormation calls
  instead and why.
- ``deploy_requests(stack, principal)`` turns each resource's handler permissions into requests:
  the action, the resource's ARN where the SCPs target resources (buckets, keys, aliases, roles,
  trails, log groups), region = the stack's region (us-east-1 for global services), the principal
  as ``aws:PrincipalArn``, the resource's tags and a key's aliases as condition keys.
- ``runtime_requests(stack)``: what roles of ours call at run time where the guardrails could
  interfere: the roles of custom-resource functions and of the delivery pipeline, one request per
  action and resource of their policies.
- ``attached_scps(guardrails_template, config)``: the SCPs of the organisation stage's template,
  with the member accounts each applies to (through the root or the account's OU).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import cfnlint

from stacks.config.organization import OrganizationConfig
from tests.stacks.iam_eval import denying_sids

SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"
HANDLERS = ("create", "update", "delete")
# Services whose API is global: requests to them carry aws:RequestedRegion us-east-1
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-requestedregion).
GLOBAL_API_SERVICES = frozenset({"iam", "organizations", "cloudfront", "route53", "shield", "sts"})


def cdk_exec_role(account: str, region: str) -> str:
    """The CloudFormation execution role ``cdk bootstrap`` creates (default qualifier); CloudFormation
    makes every call of a deploy, update and rollback with it
    (https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html)."""
    return f"arn:aws:iam::{account}:role/cdk-hnb659fds-cfn-exec-role-{account}-{region}"


def developer_role(account: str) -> str:
    """The role IAM Identity Center creates for the MediVault-Developer permission set."""
    return f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/eu-central-1/AWSReservedSSO_MediVault-Developer_0123456789abcdef"


@dataclass(frozen=True)
class NoSchema:
    reason: str
    permissions: Mapping[str, tuple[str, ...]]


# Resource types whose provider schema is absent (or has no handlers), with what CloudFormation
# calls for them and why; a new type without schema and without an entry here fails the test.
NO_SCHEMA: dict[str, NoSchema] = {
    "AWS::CDK::Metadata": NoSchema("CDK's version-reporting record: CloudFormation stores it and calls no AWS API.", {}),
    "AWS::CodeBuild::Project": NoSchema(
        "A legacy (non-registry) CloudFormation resource: its schema has no handlers. CloudFormation calls the CodeBuild "
        "project API and passes the service role (https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-iam-access-control-identity-based.html).",
        {
            "create": ("codebuild:CreateProject", "codebuild:BatchGetProjects", "iam:PassRole"),
            "update": ("codebuild:UpdateProject", "codebuild:BatchGetProjects", "iam:PassRole"),
            "delete": ("codebuild:DeleteProject",),
        },
    ),
    "AWS::Serverless::Application": NoSchema(
        "A SAM transform type (the Secrets Manager rotation application): the transform turns it into an "
        "AWS::CloudFormation::Stack whose template comes from the Serverless Application Repository "
        "(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-application.html). "
        "The nested stack's own resources (rotation function, its role) are not in our templates.",
        {
            "create": ("serverlessrepo:CreateCloudFormationTemplate", "serverlessrepo:GetCloudFormationTemplate", "cloudformation:CreateStack"),
            "update": ("serverlessrepo:CreateCloudFormationTemplate", "serverlessrepo:GetCloudFormationTemplate", "cloudformation:UpdateStack"),
            "delete": ("cloudformation:DeleteStack",),
        },
    ),
}
# Custom resources: CloudFormation invokes the ServiceToken function for create, update and delete
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources.html);
# the function's own calls are runtime requests of its role.
CUSTOM_RESOURCE = NoSchema("CloudFormation invokes the ServiceToken function", {h: ("lambda:InvokeFunction",) for h in HANDLERS})

# Handler permissions CloudFormation uses only when a property asks for them (the schema lists every
# permission a handler may need). Each entry: (type, action) -> the property test and its reason.
CONDITIONAL_PERMISSIONS: dict[tuple[str, str], tuple[Any, str]] = {
    # S3 Tables calls of AWS::S3::Bucket: only for a bucket with a metadata table configuration.
    ("AWS::S3::Bucket", "s3tables:*"): (
        lambda p: "MetadataTableConfiguration" in p or "MetadataConfiguration" in p,
        "only with a metadata table configuration",
    ),
    ("AWS::KMS::Key", "kms:DisableKey"): (lambda p: p.get("Enabled") is False, "only when Enabled is false"),
    ("AWS::KMS::Key", "kms:DisableKeyRotation"): (lambda p: p.get("EnableKeyRotation") is not True, "only when rotation is off"),
    ("AWS::CloudTrail::Trail", "cloudtrail:StopLogging"): (lambda p: p.get("IsLogging") is False, "only when IsLogging is false"),
    ("AWS::Backup::BackupVault", "backup:DeleteBackupVaultLockConfiguration"): (
        lambda p: "LockConfiguration" not in p,
        "only when the lock configuration is removed",
    ),
    ("AWS::Backup::BackupVault", "backup:DeleteBackupVaultAccessPolicy"): (
        lambda p: "AccessPolicy" not in p,
        "only when the access policy is removed",
    ),
    # A private certificate (issued by AWS Private CA) is the only one ACM asks acm-pca for; ours are
    # public, DNS-validated (https://docs.aws.amazon.com/acm/latest/userguide/gs-acm-request-private.html).
    ("AWS::CertificateManager::Certificate", "acm-pca:*"): (
        lambda p: "CertificateAuthorityArn" in p,
        "only for a private certificate (CertificateAuthorityArn)",
    ),
    ("AWS::Macie::Session", "macie2:UpdateMacieSession"): (
        lambda p: True,
        "the update handler calls it for any change of the session (FindingPublishingFrequency, Status)",
    ),
}


@dataclass(frozen=True)
class StackUnderTest:
    name: str  # the CloudFormation stack name
    artifact: str
    account: str
    region: str
    template: dict[str, Any] = field(repr=False)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.get("Resources", {})
        return resources


def stacks_of(outdir: Path) -> list[StackUnderTest]:
    """Every stack of a cloud assembly, nested stage assemblies included."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    found: list[StackUnderTest] = []
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            account, region = artifact["environment"].rsplit("/", 2)[1:]
            template = json.loads((outdir / artifact["properties"]["templateFile"]).read_text())
            stack_name = artifact["properties"].get("stackName", artifact.get("displayName", name))
            found.append(StackUnderTest(stack_name, name, account, region, template))
        elif artifact["type"] == "cdk:cloud-assembly":
            found.extend(stacks_of(outdir / artifact["properties"]["directoryName"]))
    return found


@cache
def _provider(region: str) -> dict[str, str]:
    provider: dict[str, str] = json.loads((SCHEMAS / "providers" / f"{region}.json").read_text())
    return provider


@cache
def handler_permissions(resource_type: str, region: str) -> dict[str, tuple[str, ...]] | None:
    """The create/update/delete permissions of the type's provider schema, or None without one."""
    if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
        return dict(CUSTOM_RESOURCE.permissions)
    schema_hash = _provider(region).get(resource_type)
    handlers = {}
    if schema_hash is not None:
        handlers = json.loads((SCHEMAS / "resources" / f"{schema_hash}.json").read_text()).get("handlers", {})
    if not handlers:
        entry = NO_SCHEMA.get(resource_type)
        return dict(entry.permissions) if entry is not None else None
    return {h: tuple(handlers[h]["permissions"]) for h in HANDLERS if h in handlers}


# ------------------------------------------------------------------------------------------ ARNs


def _resolve(stack: StackUnderTest, value: Any) -> str | None:
    """A string property with pseudo parameters and joins resolved; None where it needs a deploy."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            pseudo = {"AWS::AccountId": stack.account, "AWS::Region": stack.region, "AWS::Partition": "aws", "AWS::StackName": stack.name}
            return pseudo.get(arg)
        if fn == "Fn::Join":
            parts = [_resolve(stack, p) for p in arg[1]]
            return None if None in parts else arg[0].join(p for p in parts if p is not None)
    return None


def _generated_name(stack: StackUnderTest, logical_id: str, *, lower: bool, limit: int = 63) -> str:
    """The name CloudFormation generates: ``<stack>-<logical id>-<random suffix>``."""
    suffix = "1a2b3c4d5e6f"
    name = f"{stack.name}-{logical_id}"[: limit - len(suffix) - 1] + f"-{suffix}"
    return name.lower() if lower else name


def bucket_name(stack: StackUnderTest, logical_id: str) -> str:
    props = stack.resources[logical_id].get("Properties", {})
    return _resolve(stack, props.get("BucketName")) or _generated_name(stack, logical_id, lower=True)


def role_arn(stack: StackUnderTest, logical_id: str) -> str:
    props = stack.resources[logical_id].get("Properties", {})
    name = _resolve(stack, props.get("RoleName")) or _generated_name(stack, logical_id, lower=False, limit=64)
    return f"arn:aws:iam::{stack.account}:role{props.get('Path', '/')}{name}"


def key_arn(stack: StackUnderTest, logical_id: str) -> str:
    return f"arn:aws:kms:{stack.region}:{stack.account}:key/{logical_id.lower()[:8]:0<8}-0000-4000-8000-000000000000"


def _referenced(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def key_aliases(stack: StackUnderTest, key_logical_id: str) -> list[str]:
    return [
        r["Properties"]["AliasName"]
        for r in stack.resources.values()
        if r["Type"] == "AWS::KMS::Alias" and _referenced(r["Properties"].get("TargetKeyId")) == key_logical_id
    ]


def resource_tags(resource: dict[str, Any]) -> dict[str, str]:
    tags = resource.get("Properties", {}).get("Tags", [])
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items() if isinstance(v, str)}
    return {t["Key"]: t["Value"] for t in tags if isinstance(t, dict) and isinstance(t.get("Value"), str)}


def resource_arns(stack: StackUnderTest, logical_id: str) -> dict[str, list[str]]:
    """The ARNs a resource's own-service calls target, keyed by service prefix (others get '*')."""
    resource = stack.resources[logical_id]
    kind, props = resource["Type"], resource.get("Properties", {})
    where = f"{stack.region}:{stack.account}"
    if kind == "AWS::S3::Bucket":
        arn = f"arn:aws:s3:::{bucket_name(stack, logical_id)}"
        return {"s3": [arn, f"{arn}/*"]}
    if kind == "AWS::S3::BucketPolicy":
        target = _referenced(props.get("Bucket"))
        name = bucket_name(stack, target) if target in stack.resources else _resolve(stack, props.get("Bucket"))
        return {"s3": [f"arn:aws:s3:::{name or 'unresolved'}"]}
    if kind == "AWS::KMS::Key":
        return {"kms": [key_arn(stack, logical_id)]}
    if kind == "AWS::KMS::Alias":
        target = _referenced(props.get("TargetKeyId"))
        keys = [key_arn(stack, target)] if target in stack.resources else []
        return {"kms": [f"arn:aws:kms:{where}:{props['AliasName']}", *keys]}
    if kind == "AWS::IAM::Role":
        return {"iam": [role_arn(stack, logical_id)]}
    if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        roles = [role_arn(stack, r) for r in (_referenced(x) for x in props.get("Roles", [])) if r in stack.resources]
        return {"iam": roles or ["*"]}
    if kind == "AWS::CloudTrail::Trail":
        return {
            "cloudtrail": [
                f"arn:aws:cloudtrail:{where}:trail/{_resolve(stack, props.get('TrailName')) or _generated_name(stack, logical_id, lower=False)}"
            ]
        }
    if kind == "AWS::Logs::LogGroup":
        name = _resolve(stack, props.get("LogGroupName")) or _generated_name(stack, logical_id, lower=False, limit=512)
        return {"logs": [f"arn:aws:logs:{where}:log-group:{name}", f"arn:aws:logs:{where}:log-group:{name}:*"]}
    return {}


def _passed_roles(stack: StackUnderTest, resource: dict[str, Any]) -> list[str]:
    """Roles of this template a resource names (what its handlers' iam:PassRole passes)."""
    found = re.findall(r'"(?:Ref|Fn::GetAtt)": \[?"([A-Za-z0-9]+)"', json.dumps(resource.get("Properties", {})))
    return [role_arn(stack, lid) for lid in dict.fromkeys(found) if stack.resources.get(lid, {}).get("Type") == "AWS::IAM::Role"]


# -------------------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Request:
    stack: str
    logical_id: str
    resource_type: str
    handler: str  # create / update / delete, or "runtime"
    action: str
    resource: str
    context: Mapping[str, str | tuple[str, ...]] = field(hash=False)

    def describe(self) -> str:
        return f"{self.stack}/{self.logical_id} ({self.resource_type}) {self.handler}: {self.action} on {self.resource}"


def region_of(action: str, resource: str, default: str) -> str:
    service = action.split(":")[0].lower()
    if service in GLOBAL_API_SERVICES:
        return "us-east-1"
    parts = resource.split(":")
    if len(parts) > 3 and parts[0] == "arn" and re.fullmatch(r"[a-z]{2}-[a-z]+-\d", parts[3]):
        return parts[3]
    return default


def retained(resource: dict[str, Any]) -> bool:
    """CloudFormation never runs the delete handler: retained on stack deletion, on replacement and
    on rollback (``Retain``; ``RetainExceptOnCreate`` does delete on a rolled-back create)
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html)."""
    return resource.get("DeletionPolicy") == "Retain" and resource.get("UpdateReplacePolicy") == "Retain"


def deploy_requests(stack: StackUnderTest, principal: str) -> Iterator[Request]:
    """Every call CloudFormation's handlers make for every resource of ``stack``, as ``principal``."""
    for logical_id, resource in stack.resources.items():
        kind = resource["Type"]
        permissions = handler_permissions(kind, stack.region)
        if permissions is None:
            raise LookupError(f"{stack.name}/{logical_id}: no provider schema for {kind} and no NO_SCHEMA entry")
        arns = resource_arns(stack, logical_id)
        tags = resource_tags(resource)
        base: dict[str, str | tuple[str, ...]] = {"aws:PrincipalArn": principal}
        base.update({f"aws:ResourceTag/{k}": v for k, v in tags.items()})
        base.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
        if tags:
            base["aws:TagKeys"] = tuple(tags)
        if kind == "AWS::KMS::Key":
            base["kms:ResourceAliases"] = tuple(key_aliases(stack, logical_id))
        props = resource.get("Properties", {})
        for handler, actions in permissions.items():
            if handler == "delete" and retained(resource):
                continue
            for raw in actions:
                service, name = raw.split(":", 1)
                action = f"{service.lower()}:{name}"
                conditional = CONDITIONAL_PERMISSIONS.get((kind, action)) or CONDITIONAL_PERMISSIONS.get((kind, f"{service.lower()}:*"))
                if conditional is not None and not conditional[0](props):
                    continue
                passed = _passed_roles(stack, resource) if action == "iam:PassRole" else []
                targets = passed or arns.get(service.lower(), ["*"])
                for target in targets:
                    region = region_of(action, target, stack.region)
                    yield Request(stack.name, logical_id, kind, handler, action, target, {**base, "aws:RequestedRegion": region})


def _policy_statements(stack: StackUnderTest, role_logical_id: str) -> Iterator[dict[str, Any]]:
    role = stack.resources[role_logical_id]
    for policy in role.get("Properties", {}).get("Policies", []):
        yield from policy["PolicyDocument"]["Statement"]
    for resource in stack.resources.values():
        roles = [_referenced(r) for r in resource.get("Properties", {}).get("Roles", [])]
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and role_logical_id in roles:
            yield from resource["Properties"]["PolicyDocument"]["Statement"]


def _runtime_roles(stack: StackUnderTest) -> dict[str, str]:
    """Role logical ID -> why it is evaluated: custom-resource functions and the pipeline's roles."""
    roles: dict[str, str] = {}
    functions = {lid: r for lid, r in stack.resources.items() if r["Type"] in ("AWS::Lambda::Function", "AWS::CloudFormation::CustomResource")}
    for resource in stack.resources.values():
        kind = resource["Type"]
        if kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
            function = _referenced(resource["Properties"].get("ServiceToken"))
            if function in functions:
                role = _referenced(functions[function]["Properties"].get("Role"))
                if role is not None:
                    roles[role] = f"custom resource {kind}"
    for lid, resource in stack.resources.items():
        if resource["Type"] == "AWS::IAM::Role":
            trusted = json.dumps(resource["Properties"].get("AssumeRolePolicyDocument", {}))
            if "codepipeline.amazonaws.com" in trusted or "codebuild.amazonaws.com" in trusted:
                roles[lid] = "delivery pipeline"
    return roles


def runtime_requests(stack: StackUnderTest, bucket_regions: Mapping[str, str]) -> Iterator[Request]:
    """What our custom-resource and pipeline roles call at run time (each action on each literal
    resource of their policies; '*' where the resource is a token), in the region of the resource
    (an S3 bucket's region from ``bucket_regions``), else the stack's region."""
    for role_id, why in _runtime_roles(stack).items():
        principal = role_arn(stack, role_id)
        for statement in _policy_statements(stack, role_id):
            if statement.get("Effect") != "Allow":
                continue
            actions = statement.get("Action", [])
            resources = statement.get("Resource", ["*"])
            for action in [actions] if isinstance(actions, str) else actions:
                for resource in [resources] if isinstance(resources, str | dict) else resources:
                    target = _resolve(stack, resource) if not isinstance(resource, str) else resource
                    target = target or "*"
                    region = region_of(action, target, stack.region)
                    if action.startswith("s3:") and target.startswith("arn:aws:s3:::"):
                        region = bucket_regions.get(target[len("arn:aws:s3:::") :].split("/")[0], region)
                    context = {"aws:PrincipalArn": principal, "aws:RequestedRegion": region}
                    yield Request(stack.name, role_id, why, "runtime", action, target, context)


def bucket_regions(stacks: list[StackUnderTest]) -> dict[str, str]:
    """Bucket name -> region, for every bucket with a literal name in these stacks."""
    regions: dict[str, str] = {}
    for stack in stacks:
        for lid, resource in stack.resources.items():
            if resource["Type"] == "AWS::S3::Bucket":
                regions[bucket_name(stack, lid)] = stack.region
    return regions


# ------------------------------------------------------------------------------------------ SCPs


@dataclass(frozen=True)
class AttachedScp:
    name: str
    document: dict[str, Any]
    accounts: frozenset[str]


def attached_scps(guardrails_template: dict[str, Any], config: OrganizationConfig) -> list[AttachedScp]:
    """The SCPs of the Guardrails template, each with the member accounts it applies to (attached to
    the root: every member account; to an OU: that OU's accounts). SCPs never apply to the
    management account (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html)."""
    resources = guardrails_template["Resources"]
    ou_accounts: dict[str, frozenset[str]] = {}
    by_name = {ou.name: frozenset(ou.account_ids) for ou in config.organizational_units.values()}
    for lid, resource in resources.items():
        if resource["Type"] == "AWS::Organizations::OrganizationalUnit":
            ou_accounts[lid] = by_name[resource["Properties"]["Name"]]
    every_member = frozenset().union(*by_name.values())
    scps = []
    for resource in resources.values():
        if resource["Type"] != "AWS::Organizations::Policy":
            continue
        accounts: set[str] = set()
        for target in resource["Properties"]["TargetIds"]:
            accounts |= every_member if target == config.root_id else ou_accounts[_referenced(target) or ""]
        scps.append(AttachedScp(resource["Properties"]["Name"], resource["Properties"]["Content"], frozenset(accounts)))
    return scps


def denials(scps: list[AttachedScp], account: str, request: Request) -> list[str]:
    """``<SCP name>/<Sid>`` of every SCP statement applying to ``account`` that denies ``request``."""
    return [
        f"{scp.name}/{sid}"
        for scp in scps
        if account in scp.accounts
        for sid in sorted(denying_sids(scp.document, request.action, request.resource, request.context))
    ]
