"""A Secrets Manager rotation function (lambda/mv_secret_rotation) and the schedule that runs it (R10).

For secrets that Secrets Manager has no rotation template for -- the cache AUTH token
(ROTATE strategy) and the CloudFront origin header (two-value window). What this adds:
- the function, built like every MediVault function (constructs/medivault_function.py): in the VPC,
  ARM64, X-Ray, JSON logs to a KMS log group, dead-letter queue, its own managed-policy role;
- the permissions Secrets Manager's rotation needs on exactly this secret: DescribeSecret,
  GetSecretValue, PutSecretValue, UpdateSecretVersionStage on the secret ARN and the secret's KMS
  key only through Secrets Manager (new values come from the function's CSPRNG, so no
  GetRandomPassword, which has no resource-level permission)
  ("Permissions for rotation",
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html);
- an ``AWS::SecretsManager::RotationSchedule`` every ``rotation_days`` days, in the secret's own
  stack (cdk-nag's rotation checks look for it there), created only after the invoke permission
  and the role policy exist: creating the schedule starts the first rotation, which invokes the
  function as Secrets Manager ("Lambda function execution role permissions" in the page above).
The caller adds the target-specific permissions (``role``) and network paths (``security_group``).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from constructs.medivault_function import MediVaultFunction

SOURCE = "mv_secret_rotation"
TARGETS = ("cache-auth-token", "origin-header")
SECRET_ACTIONS = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
]


class SecretRotation(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        secret: secretsmanager.ISecret,
        secret_key: kms.IKey,
        target: str,
        environment: dict[str, str],
        description: str,
        rotation_days: int,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        logs_key: kms.IKey,
        queue_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        powertools_layer_version: int,
    ) -> None:
        super().__init__(scope, construct_id)
        if target not in TARGETS:
            raise ValueError(f"SecretRotation: target {target!r} is not one of {', '.join(TARGETS)}")
        if not 1 <= rotation_days <= 365:
            raise ValueError(f"SecretRotation: rotation_days {rotation_days} is outside 1..365")
        stack = cdk.Stack.of(self)
        built = MediVaultFunction(
            self,
            "Function",
            source=SOURCE,
            description=description,
            vpc=vpc,
            vpc_subnets=subnets,
            security_group=security_group,
            logs_key=logs_key,
            queue_key=queue_key,
            log_retention=log_retention,
            removal_policy=removal_policy,
            powertools_layer_version=powertools_layer_version,
            environment={"ROTATION_TARGET": target, "SECRET_ARN": secret.secret_arn, **environment},
            timeout=cdk.Duration.minutes(2),
            # Secrets Manager runs the four steps of one rotation one after another.
            reserved_concurrency=2,
        )
        self.medivault_function = built
        self.function: lambda_.IFunction = built.function
        self.role: iam.IRole = built.role

        built.role.add_to_principal_policy(iam.PolicyStatement(sid="RotateThisSecret", actions=SECRET_ACTIONS, resources=[secret.secret_arn]))
        built.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="SecretKeyViaSecretsManager",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[secret_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},
            )
        )
        # Only Secrets Manager, for this secret, may invoke the function (aws:SourceArn and
        # aws:SourceAccount against a confused deputy; the handler also refuses other secrets).
        permission = lambda_.CfnPermission(
            self,
            "InvokeBySecretsManager",
            action="lambda:InvokeFunction",
            function_name=built.function.function_arn,
            principal="secretsmanager.amazonaws.com",
            source_account=stack.account,
            source_arn=secret.secret_arn,
        )
        self.schedule = secretsmanager.CfnRotationSchedule(
            self,
            "Schedule",
            secret_id=secret.secret_arn,
            rotation_lambda_arn=built.function.function_arn,
            rotation_rules=secretsmanager.CfnRotationSchedule.RotationRulesProperty(
                automatically_after_days=rotation_days,
            ),
        )
        self.schedule.node.add_dependency(permission)
        if built.role.grants_policy is not None:
            self.schedule.node.add_dependency(built.role.grants_policy)
