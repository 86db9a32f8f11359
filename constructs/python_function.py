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
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.managed_policy_role import ManagedPolicyRole
from constructs.traceability import trace

LAMBDA_ROOT = Path(__file__).resolve().parent.parent / "lambda"
RUNTIME = lambda_.Runtime.PYTHON_3_14
# AWS's public Powertools for AWS Lambda (Python) v3 layer, published by account 017000801446 in
# every commercial region. Version pinned in config (lambda_settings.powertools_layer_version).
POWERTOOLS_LAYER = "arn:{partition}:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:{version}"

ENI_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]


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
        # Lambda attaches ENIs in the VPC itself with the function's role; EC2 offers no
        # resource-level permissions for these Describe/Create calls.
        eni = iam.PolicyStatement(actions=ENI_ACTIONS, resources=["*"])
        self.role.add_to_principal_policy(eni)

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
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only the VPC ENI actions (ec2:CreateNetworkInterface etc.) and X-Ray PutTraceSegments/PutTelemetryRecords use "
            "Resource '*': neither service supports resource-level permissions for them. Every data permission is scoped.",
        )
