"""Logging of a WAF web ACL: the one owner for both web ACLs (CloudFront's in us-east-1, the user pool's).

WAF delivers to a CloudWatch Logs group only if its name starts with ``aws-waf-logs-`` (AWS WAF
Developer Guide, "Sending web ACL traffic logs to an Amazon CloudWatch Logs log group"), and the
delivery needs a log-group resource policy for ``delivery.logs.amazonaws.com``; WAF tries to add one
itself when it is missing, so it is written here, scoped to this account's log groups, and the logging
configuration waits for it. The Authorization and Cookie headers are redacted: the logs are security
evidence, not a store of credentials.

The resources are created in ``scope`` with the ids ``Logs``, ``LogDeliveryPolicy`` and ``Logging``
(what both web ACL constructs had before this module: logical IDs unchanged).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

REDACTED_HEADERS = ("authorization", "cookie")


def add_waf_logging(
    scope: Construct,
    *,
    web_acl: wafv2.CfnWebACL,
    name: str,
    logs_key: kms.IKey,
    log_retention: logs.RetentionDays,
    removal_policy: cdk.RemovalPolicy,
) -> tuple[logs.LogGroup, wafv2.CfnLoggingConfiguration]:
    """The ``aws-waf-logs-<name>`` group (KMS-encrypted), its delivery policy and the logging configuration."""
    stack = cdk.Stack.of(scope)
    log_group = logs.LogGroup(
        scope,
        "Logs",
        log_group_name=f"aws-waf-logs-{name}",
        encryption_key=logs_key,
        retention=log_retention,
        removal_policy=removal_policy,
    )
    # The log group ARN without the ":*" suffix CloudFormation's Arn attribute carries.
    log_group_arn = stack.format_arn(
        service="logs", resource="log-group", resource_name=log_group.log_group_name, arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME
    )
    # The policy WAF would otherwise try to add itself (log delivery into this account's groups only).
    delivery_policy = logs.ResourcePolicy(
        scope,
        "LogDeliveryPolicy",
        policy_statements=[
            iam.PolicyStatement(
                sid="WafLogDelivery",
                principals=[iam.ServicePrincipal("delivery.logs.amazonaws.com")],
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{log_group_arn}:log-stream:*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:*"},
                },
            )
        ],
    )
    logging = wafv2.CfnLoggingConfiguration(
        scope,
        "Logging",
        resource_arn=web_acl.attr_arn,
        log_destination_configs=[log_group_arn],
        redacted_fields=[wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header}) for header in REDACTED_HEADERS],
    )
    logging.node.add_dependency(delivery_policy)
    return log_group, logging
