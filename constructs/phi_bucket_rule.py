"""The custom Config rule ``medivault-phi-bucket-lock`` (R7, R14): every PHI-tagged bucket is under
Object Lock of the configured mode for at least the configured days, versioned, and encrypted with
the data key. Change-triggered and every 24 hours.

A ``MediVaultFunction`` subclass (``mv_phi_bucket_rule``; role, log group, dead-letter queue and
function keep their ids). The rule itself has a fixed name, so it is created beside the function in
the same scope under the id it has always had (``PhiBucketLockRule``; a new logical ID would make
CloudFormation create a second rule of that name first, and fail), as is the evaluations policy
(``<id>Evaluations``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_config as awsconfig
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.data_classification import phi_tag_parameters
from constructs.finding_ids import arn_id
from constructs.medivault_function import FunctionSettings, MediVaultFunction
from constructs.traceability import trace

RULE_NAME = "medivault-phi-bucket-lock"
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


@dataclass(frozen=True, kw_only=True)
class PhiBucketRuleSettings:
    lock_mode: str
    min_retention_days: int

    def __post_init__(self) -> None:
        if self.lock_mode not in LOCK_MODES:
            raise ValueError(f"PhiBucketRuleSettings.lock_mode: {self.lock_mode!r} is not one of {', '.join(LOCK_MODES)}")
        if self.min_retention_days < 1:
            raise ValueError("PhiBucketRuleSettings.min_retention_days: must be at least 1")


class PhiBucketRule(MediVaultFunction):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PhiBucketRuleSettings,
        function: FunctionSettings,
        data_key: kms.IKey,
        after: Sequence[cdk.CfnResource] = (),
    ) -> None:
        super().__init__(
            scope, construct_id, source="mv_phi_bucket_rule", description="Config rule: PHI buckets locked, versioned, data key", settings=function
        )
        stack = cdk.Stack.of(self)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "s3:GetBucketTagging",
                    "s3:GetBucketObjectLockConfiguration",
                    "s3:GetBucketVersioning",
                    "s3:GetEncryptionConfiguration",
                    "s3:GetBucketLocation",
                ],
                resources=[f"arn:{stack.partition}:s3:::*"],
            )
        )
        # The two calls without resource-level permissions, in a policy of their own, so that its
        # acknowledgment says exactly this (the function role's own Resource::* is ENI + X-Ray only).
        self.evaluations = iam.ManagedPolicy(
            scope,
            f"{construct_id}Evaluations",
            description=f"Config rule {RULE_NAME}: list the buckets, report the evaluations",
            roles=[self.role],
            statements=[iam.PolicyStatement(actions=["s3:ListAllMyBuckets", "config:PutEvaluations"], resources=["*"])],
        )
        acknowledge(
            self.evaluations,
            "AwsSolutions-IAM5[Resource::*]",
            "s3:ListAllMyBuckets (which buckets a periodic run evaluates) and config:PutEvaluations (the result) support no "
            "resource-level permissions; the function reads bucket configuration only, never objects.",
        )
        acknowledge(
            self.role,
            arn_id(self, "AwsSolutions-IAM5[Resource::arn:{partition}:s3:::*]"),
            "The periodic evaluation reads the configuration (tags, lock, versioning, encryption) of every bucket; no object access.",
        )
        # An explicit permission resource (Function.add_permission returns None in Python, so nothing
        # could depend on it): AWS Config checks it when the rule is created (aws-cdk PR #16617).
        # Config assigns the rule's ID at creation, so the source ARN names this account's rules here,
        # and SourceAccount keeps another account's Config from invoking it (confused deputy).
        self.permission = lambda_.CfnPermission(
            self.function,
            "ConfigInvokes",
            action="lambda:InvokeFunction",
            function_name=self.function.function_arn,
            principal="config.amazonaws.com",
            source_account=stack.account,
            source_arn=f"arn:{stack.partition}:config:{stack.region}:{stack.account}:config-rule/*",
        )
        source = awsconfig.CfnConfigRule.SourceDetailProperty
        self.rule = awsconfig.CfnConfigRule(
            scope,
            "PhiBucketLockRule",
            config_rule_name=RULE_NAME,
            description=f"PHI-tagged buckets: Object Lock {settings.lock_mode} >= {settings.min_retention_days} days, versioning, the data key",
            source=awsconfig.CfnConfigRule.SourceProperty(
                owner="CUSTOM_LAMBDA",
                source_identifier=self.function.function_arn,
                source_details=[
                    source(event_source="aws.config", message_type="ConfigurationItemChangeNotification"),
                    source(event_source="aws.config", message_type="OversizedConfigurationItemChangeNotification"),
                    source(event_source="aws.config", message_type="ScheduledNotification", maximum_execution_frequency="TwentyFour_Hours"),
                ],
            ),
            scope=awsconfig.CfnConfigRule.ScopeProperty(compliance_resource_types=["AWS::S3::Bucket"]),
            input_parameters={
                **phi_tag_parameters(),
                "lockMode": settings.lock_mode,
                "minRetentionDays": str(settings.min_retention_days),
                "kmsKeyArn": data_key.key_arn,
            },
        )
        self.rule.add_resource_dependency(self.permission)
        self.rule.node.add_dependency(self.evaluations)
        if after:
            self.rule.node.add_dependency(*after)
        trace(self.rule, ["R7", "R14"], ["security"], "A custom Config rule proves every PHI bucket is locked, versioned and under the data key.")
