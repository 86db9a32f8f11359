"""A customer-managed KMS key for one purpose, with a key policy that names who may use it.

The policy is the whole key policy (the ``@aws-cdk/aws-kms:defaultKeyPolicies`` flag is on):
- the account may *administer* the key (IAM decides which admins; no crypto rights from this);
- the account's principals may *use* it only through the AWS services listed (``kms:ViaService``),
  so a leaked role cannot decrypt PHI with direct KMS calls outside those services;
- service principals that call KMS themselves (CloudWatch Logs, ...) are granted with a condition
  that pins them to this account's resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# Key administration, named one by one (no ``kms:Create*``: that would include kms:CreateGrant, and a
# grant is a way to use the key that bypasses the "only through named services" rule below). The
# list is the administration actions of the KMS key-policy documentation ("Allows key administrators
# to administer the KMS key"), https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators
ADMIN_ACTIONS = [
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:UpdateAlias",
    "kms:DescribeKey",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:UpdateKeyDescription",
    "kms:RevokeGrant",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
]
USE_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
]


@dataclass(frozen=True)
class ServicePrincipalUse:
    """A service principal that calls KMS itself, pinned by a condition to our resources."""

    service: str  # e.g. "logs.eu-central-1.amazonaws.com"
    conditions: dict[str, dict[str, object]] = field(default_factory=dict)
    actions: tuple[str, ...] = tuple(USE_ACTIONS)
    sid_suffix: str = ""  # when one service needs two statements (e.g. events: to a topic and to a queue)

    @staticmethod
    def cloudwatch_logs(stack: cdk.Stack) -> ServicePrincipalUse:
        """CloudWatch Logs of the stack's region, for this account's log groups only."""
        return ServicePrincipalUse(
            service=f"logs.{stack.region}.amazonaws.com",
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"}},
        )


class PurposeKey(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        purpose: str,
        alias: str,
        via_services: list[str],
        service_principals: list[ServicePrincipalUse] | None = None,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        statements = [
            iam.PolicyStatement(
                sid="AccountAdministersKey",
                principals=[iam.AccountRootPrincipal()],
                actions=ADMIN_ACTIONS,
                resources=["*"],
            )
        ]
        if via_services:
            through_services = {
                "kms:CallerAccount": stack.account,
                "kms:ViaService": [f"{s}.{stack.region}.amazonaws.com" for s in via_services],
            }
            statements.append(
                iam.PolicyStatement(
                    sid="UseOnlyThroughNamedServices",
                    principals=[iam.AccountRootPrincipal()],
                    actions=USE_ACTIONS,
                    resources=["*"],
                    conditions={"StringEquals": through_services},
                )
            )
            # The named services create grants for their own resources (RDS, ElastiCache, DynamoDB,
            # Backup, ...); a grant for anything else is refused:
            # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource
            statements.append(
                iam.PolicyStatement(
                    sid="GrantsOnlyForAwsResourcesOfNamedServices",
                    principals=[iam.AccountRootPrincipal()],
                    actions=["kms:CreateGrant"],
                    resources=["*"],
                    conditions={"StringEquals": through_services, "Bool": {"kms:GrantIsForAWSResource": "true"}},
                )
            )
        for use in service_principals or []:
            statements.append(
                iam.PolicyStatement(
                    sid="ServiceUse" + "".join(p.capitalize() for p in use.service.split(".")[0].split("-")) + use.sid_suffix,
                    principals=[iam.ServicePrincipal(use.service)],
                    actions=list(use.actions),
                    resources=["*"],
                    conditions=use.conditions or None,
                )
            )
        self.key = kms.Key(
            self,
            "Key",
            description=f"MediVault {purpose} key",
            enable_key_rotation=True,
            rotation_period=cdk.Duration.days(365),
            policy=iam.PolicyDocument(statements=statements),
            removal_policy=removal_policy,
            pending_window=cdk.Duration.days(30 if removal_policy == cdk.RemovalPolicy.RETAIN else 7),
        )
        self.key.add_alias(alias)
