"""The one way MediVault builds a Lambda function (every function in ``lambda/`` uses it).

What a HIPAA reviewer asks of a function, built in once:
- ARM64 (Graviton: cheaper, less energy), the latest Python runtime, Powertools from AWS's
  public layer (no bundling, so synth needs neither Docker nor network);
- runs inside the VPC (app subnets), reaching AWS APIs through the VPC endpoints;
- X-Ray tracing active; JSON logs to its own KMS-encrypted log group with retention from config;
- reserved concurrency (a runaway trigger cannot starve the account), and a KMS-encrypted,
  TLS-only dead-letter queue so a failed asynchronous event is kept, not lost;
- its own role whose permissions are customer-managed policies (no inline, no AWS-managed).
Each function ships alone: the asset holds only ``lambda/<source>/`` and, when the function
imports it, the shared folder ``lambda/mv_shared/`` (settings loader, custom-resource response,
logging), so changing one function does not change another's asset hash.

The settings every function of a stack shares (network, keys, log retention, removal policy,
Powertools layer, and defaults for memory, timeout and concurrency) come as one typed
``FunctionSettings``; a keyword argument given at the call site overrides its field.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct
from constructs.compliance import acknowledge
from constructs.managed_policy_role import ManagedPolicyRole
from constructs.traceability import trace

T = TypeVar("T")

LAMBDA_ROOT = Path(__file__).resolve().parent.parent / "lambda"
# Code every function may import (lambda/mv_shared/); shipped in the asset of each function that does.
SHARED_SOURCE = "mv_shared"
_IMPORTS_SHARED = re.compile(rf"^\s*(?:from|import)\s+{SHARED_SOURCE}\b", re.MULTILINE)
# Lambda quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): memory
# 128-10,240 MB, timeout at most 900 seconds.
MEMORY_RANGE = (128, 10240)
MAX_TIMEOUT_SECONDS = 900
DEFAULT_MEMORY_MB = 256
DEFAULT_TIMEOUT = cdk.Duration.seconds(60)
DEFAULT_RESERVED_CONCURRENCY = 5
RUNTIME = lambda_.Runtime.PYTHON_3_14
# AWS's public Powertools for AWS Lambda (Python) v3 layer, published by account 017000801446 in
# every commercial region. Version pinned in config (lambda_settings.powertools_layer_version).
POWERTOOLS_LAYER = "arn:{partition}:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:{version}"

# What Lambda does with the execution role to attach the function to the VPC
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions).
# The ENI actions support resource-level permissions (Service Authorization Reference, Amazon EC2):
# they are scoped to this account's network interfaces in the region, the function's subnets and its
# security group. Only the Describe calls have no resource-level permissions.
ENI_DESCRIBE_ACTIONS = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
ENI_ACTIONS = [
    "ec2:CreateNetworkInterface",
    *ENI_DESCRIBE_ACTIONS,
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
# Every action a MediVault function may hold on Resource "*", with the reason that is true for it
# (the action has no resource types in the Service Authorization Reference,
# https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
# The role's acknowledgment is written from its actual policy at synth: it names exactly the actions
# that use "*", and an action not in this table fails the synth instead of hiding behind a reason.
UNSCOPED_REASONS = {
    "ec2:DescribeNetworkInterfaces": "EC2 Describe calls Lambda makes for the VPC ENIs have no resource-level permissions",
    "ec2:DescribeSubnets": "EC2 Describe calls Lambda makes for the VPC ENIs have no resource-level permissions",
    "xray:PutTraceSegments": "X-Ray trace upload has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray trace upload has no resource-level permissions",
    "config:PutEvaluations": "AWS Config PutEvaluations has no resource-level permissions (the rule is identified by the result token)",
    "s3:ListAllMyBuckets": "s3:ListAllMyBuckets lists bucket names only and has no resource-level permissions",
    "backup:ListRecoveryPointsByResource": "the listed resource is a request parameter, not an AWS Backup resource the action can be scoped to",
    "cloudwatch:PutMetricData": "CloudWatch PutMetricData has no resource-level permissions (pinned to one namespace by condition)",
}


@dataclass(frozen=True)
class FunctionSettings:
    """What the functions of one stack share. ``security_group`` may be left out when each function
    gets its own (then pass ``security_group=`` at the call site)."""

    vpc: ec2.IVpc
    vpc_subnets: ec2.SubnetSelection
    logs_key: kms.IKey
    queue_key: kms.IKey
    log_retention: logs.RetentionDays
    removal_policy: cdk.RemovalPolicy
    powertools_layer_version: int
    security_group: ec2.ISecurityGroup | None = None
    memory_size: int = DEFAULT_MEMORY_MB
    timeout: cdk.Duration = DEFAULT_TIMEOUT
    reserved_concurrency: int = DEFAULT_RESERVED_CONCURRENCY

    def __post_init__(self) -> None:
        check_sizes(self.memory_size, self.timeout, self.reserved_concurrency, self.powertools_layer_version)

    def replace(self, **changes: object) -> FunctionSettings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def check_sizes(memory_size: int, timeout: cdk.Duration, reserved_concurrency: int, powertools_layer_version: int) -> None:
    """One line naming the setting and the allowed values for a value Lambda would refuse."""
    low, high = MEMORY_RANGE
    if not low <= memory_size <= high:
        raise ValueError(f"MediVaultFunction memory_size={memory_size}: allowed {low} to {high} (MB)")
    if not cdk.Token.is_unresolved(timeout) and not 1 <= timeout.to_seconds() <= MAX_TIMEOUT_SECONDS:
        raise ValueError(f"MediVaultFunction timeout={timeout.to_seconds()} s: allowed 1 to {MAX_TIMEOUT_SECONDS} seconds")
    if reserved_concurrency < 1:
        raise ValueError(f"MediVaultFunction reserved_concurrency={reserved_concurrency}: allowed 1 or more (0 would stop the function)")
    if powertools_layer_version < 1:
        raise ValueError(f"MediVaultFunction powertools_layer_version={powertools_layer_version}: allowed 1 or more")


def uses_shared(function_folder: Path) -> bool:
    """The function imports the shared folder (any .py file of it has ``import/from mv_shared``)."""
    return any(_IMPORTS_SHARED.search(path.read_text(encoding="utf-8")) for path in function_folder.rglob("*.py"))


def asset_excludes(source_root: Path, source: str) -> list[str]:
    """Exclude patterns that keep exactly ``<source>/`` (and ``mv_shared/`` if the function imports
    it) of ``source_root`` in the asset. The staged directory, and so the asset hash, depends on
    nothing else."""
    keep = [source]
    if uses_shared(source_root / source):
        if not (source_root / SHARED_SOURCE / "__init__.py").is_file():
            raise ValueError(f"MediVaultFunction: {source} imports {SHARED_SOURCE} but {source_root.name}/{SHARED_SOURCE}/__init__.py does not exist")
        keep.append(SHARED_SOURCE)
    # "**" does not match dot files: without ".*" a lambda/.gitkeep (or an editor's swap file) would
    # ship in, and change the hash of, every function's asset.
    return ["**", ".*", *(pattern for folder in keep for pattern in (f"!{folder}", f"!{folder}/**")), "**/.*", "**/__pycache__", "**/*.pyc"]


def _pick(name: str, given: T | None, settings: FunctionSettings | None) -> T:
    if given is not None:
        return given
    value: T | None = getattr(settings, name) if settings is not None else None
    if value is None:
        raise ValueError(f"MediVaultFunction: {name} is required (pass {name}= or settings=FunctionSettings(..., {name}=...))")
    return value


class MediVaultFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: str,
        description: str,
        settings: FunctionSettings | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_group: ec2.ISecurityGroup | None = None,
        logs_key: kms.IKey | None = None,
        queue_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays | None = None,
        removal_policy: cdk.RemovalPolicy | None = None,
        powertools_layer_version: int | None = None,
        environment: dict[str, str] | None = None,
        timeout: cdk.Duration | None = None,
        memory_size: int | None = None,
        reserved_concurrency: int | None = None,
        source_root: Path = LAMBDA_ROOT,
    ) -> None:
        """Every keyword may come from ``settings``; one given here overrides it (e.g. a function's
        own security group or a longer timeout). Without ``settings`` the keywords are as before."""
        super().__init__(scope, construct_id)
        if not (source_root / source / "handler.py").is_file():
            raise ValueError(f"MediVaultFunction: {source_root.name}/{source}/handler.py does not exist")
        vpc = _pick("vpc", vpc, settings)
        vpc_subnets = _pick("vpc_subnets", vpc_subnets, settings)
        security_group = _pick("security_group", security_group, settings)
        logs_key = _pick("logs_key", logs_key, settings)
        queue_key = _pick("queue_key", queue_key, settings)
        log_retention = _pick("log_retention", log_retention, settings)
        removal_policy = _pick("removal_policy", removal_policy, settings)
        powertools_layer_version = _pick("powertools_layer_version", powertools_layer_version, settings)
        if memory_size is None:
            memory_size = settings.memory_size if settings else DEFAULT_MEMORY_MB
        if timeout is None:
            timeout = settings.timeout if settings else DEFAULT_TIMEOUT
        if reserved_concurrency is None:
            reserved_concurrency = settings.reserved_concurrency if settings else DEFAULT_RESERVED_CONCURRENCY
        check_sizes(memory_size, timeout, reserved_concurrency, powertools_layer_version)
        stack = cdk.Stack.of(self)

        self.role = ManagedPolicyRole(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=f"Lambda {source}: {description}"[:1000]
        )
        self.log_group = logs.LogGroup(self, "Logs", encryption_key=logs_key, retention=log_retention, removal_policy=removal_policy)
        self.log_group.grant_write(self.role)
        # Lambda attaches ENIs in the VPC itself with the function's role.
        own = f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}"
        interfaces = f"{own}:network-interface/*"
        selection = vpc_subnets
        subnet_ids = vpc.select_subnets(
            availability_zones=selection.availability_zones,
            one_per_az=selection.one_per_az,
            subnet_filters=selection.subnet_filters,
            subnet_group_name=selection.subnet_group_name,
            subnet_type=selection.subnet_type,
            subnets=selection.subnets,
        ).subnet_ids
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ec2:CreateNetworkInterface"],
                resources=[interfaces, f"{own}:security-group/{security_group.security_group_id}", *(f"{own}:subnet/{s}" for s in subnet_ids)],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"], resources=[interfaces]
            )
        )
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=ENI_DESCRIBE_ACTIONS, resources=["*"]))
        shown = {
            "partition": "<AWS::Partition>" if cdk.Token.is_unresolved(stack.partition) else stack.partition,
            "region": "<AWS::Region>" if cdk.Token.is_unresolved(stack.region) else stack.region,
            "account": "<AWS::AccountId>" if cdk.Token.is_unresolved(stack.account) else stack.account,
        }
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::arn:{partition}:ec2:{region}:{account}:network-interface/*]".format(**shown),
            "Lambda creates the function's VPC network interfaces and EC2 assigns their IDs at creation, so ENI create/delete/IP "
            "assignment is scoped to this account's interfaces in this region (creation also to the function's subnets and group).",
        )

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=queue_key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            removal_policy=removal_policy,
        )
        # Lambda sends failed asynchronous events to the queue with the function's role; SQS then
        # encrypts with the queue key on the role's behalf (the key policy admits it via SQS only).
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[queue_key.key_arn]))
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the function; a DLQ of a DLQ would only move the same events again.",
        )

        layer = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "Powertools",
            POWERTOOLS_LAYER.format(partition=stack.partition, region=stack.region, version=powertools_layer_version),
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=f"{source}.handler.lambda_handler",
            code=lambda_.Code.from_asset(str(source_root), exclude=asset_excludes(source_root, source)),
            layers=[layer],
            role=self.role,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=[security_group],
            environment={"POWERTOOLS_SERVICE_NAME": source, **(environment or {})},
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            dead_letter_queue=self.dead_letter_queue,
        )
        # aws-cdk-lib makes the function DependsOn its role although the role's ARN (a GetAtt) already
        # orders them (cfn-lint W3005). Depend on the role's permissions policy only, which the
        # GetAtt does not imply: the template is then clean instead of carrying an ignore.
        function_resource = self.function.node.default_child
        policy = self.role.grants_policy
        if isinstance(function_resource, cdk.CfnResource) and policy is not None:
            policy_resource = policy.node.default_child
            assert isinstance(policy_resource, cdk.CfnResource)
            function_resource.add_override("DependsOn", [stack.get_logical_id(policy_resource)])
        trace(
            self.function,
            ["R4"],
            ["sustainability", "cost-optimisation"],
            "Lambda functions run on ARM64 (Graviton), which AWS states uses less energy per unit of work, and only when invoked.",
        )
        trace(
            self.log_group,
            ["R13"],
            ["sustainability", "cost-optimisation"],
            "Function logs expire after the configured retention instead of growing forever.",
        )
        cdk.Aspects.of(self).add(_AcknowledgeUnscopedActions(self))


def unscoped_actions(role: ManagedPolicyRole) -> list[str]:
    """The actions the role's policy grants on Resource "*" (resolved, in policy order)."""
    policy = role.grants_policy
    if policy is None:
        return []
    document = cdk.Stack.of(role).resolve(policy.document.to_json())
    found: list[str] = []
    for statement in document.get("Statement", []):
        resources = statement.get("Resource", [])
        if "*" in ([resources] if isinstance(resources, str) else resources):
            actions = statement["Action"]
            found.extend(a for a in ([actions] if isinstance(actions, str) else actions) if a not in found)
    return found


@jsii.implements(cdk.IAspect)
class _AcknowledgeUnscopedActions:
    """Writes the function role's IAM5[Resource::*] acknowledgment once every statement is in: the
    reason names each action on "*" with its own reason, so it cannot go stale when a stack adds one."""

    def __init__(self, function: MediVaultFunction) -> None:
        self.function = function
        self.done = False

    def visit(self, node: IConstruct) -> None:
        if self.done or node is not self.function:
            return
        self.done = True
        actions = unscoped_actions(self.function.role)
        unknown = [a for a in actions if a not in UNSCOPED_REASONS]
        if unknown:
            raise ValueError(
                f"MediVaultFunction {self.function.node.path}: {', '.join(unknown)} on Resource '*' has no recorded reason; "
                "scope it to resources or add the true reason to UNSCOPED_REASONS"
            )
        if not actions:
            return
        reasons: dict[str, list[str]] = {}
        for action in actions:
            reasons.setdefault(UNSCOPED_REASONS[action], []).append(action)
        text = "; ".join(f"{', '.join(names)}: {why}" for why, names in reasons.items())
        acknowledge(
            self.function.role, "AwsSolutions-IAM5[Resource::*]", f"Resource '*' only for actions without resource-level permissions. {text}."
        )
