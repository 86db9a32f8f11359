"""The one way MediVault builds a Lambda function (every function in ``lambda/`` uses it).

What a HIPAA reviewer asks of a function, built in once:
- ARM64 (Graviton: cheaper, less energy), the latest Python runtime, Powertools from AWS's
  public layer (no bundling, so synth needs neither Docker nor network);
- runs inside the VPC (app subnets), reaching AWS APIs through the VPC endpoints;
- X-Ray tracing active; JSON logs to its own KMS-encrypted log group with retention from config;
- reserved concurrency (a runaway trigger cannot starve the account), and a KMS-encrypted,
  TLS-only dead-letter queue so a failed asynchronous event is kept, not lost;
- its own role whose permissions are customer-managed policies (no inline, no AWS-managed).
Each function ships alone: the asset holds only ``lambda/<source>/``, so changing one function
does not change another's asset hash.
"""

from __future__ import annotations

from pathlib import Path

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

LAMBDA_ROOT = Path(__file__).resolve().parent.parent / "lambda"
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


class PythonFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: str,
        description: str,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        logs_key: kms.IKey,
        queue_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        powertools_layer_version: int,
        environment: dict[str, str] | None = None,
        timeout: cdk.Duration | None = None,
        memory_size: int = 256,
        reserved_concurrency: int = 5,
        source_root: Path = LAMBDA_ROOT,
    ) -> None:
        super().__init__(scope, construct_id)
        if not (source_root / source / "handler.py").is_file():
            raise ValueError(f"PythonFunction: {source_root.name}/{source}/handler.py does not exist")
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
            code=lambda_.Code.from_asset(str(source_root), exclude=["**", f"!{source}", f"!{source}/**", "**/__pycache__"]),
            layers=[layer],
            role=self.role,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=[security_group],
            environment={"POWERTOOLS_SERVICE_NAME": source, **(environment or {})},
            timeout=timeout or cdk.Duration.seconds(60),
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

    def __init__(self, function: PythonFunction) -> None:
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
                f"PythonFunction {self.function.node.path}: {', '.join(unknown)} on Resource '*' has no recorded reason; "
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
