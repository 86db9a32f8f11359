"""Building blocks for construct tests: a bare ``cdk.Stack()`` and what a MediVault function needs."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template
from constructs.medivault_function import FunctionSettings


def bare_stack(account: str | None = None) -> cdk.Stack:
    """An env-agnostic stack (account/partition tokens), or one in ``account`` / eu-central-1."""
    if account is None:
        return cdk.Stack()
    return cdk.Stack(cdk.App(), "Test", env=cdk.Environment(account=account, region="eu-central-1"))


def function_settings(stack: cdk.Stack, *, queue_key: kms.IKey | None = None, with_group: bool = True) -> FunctionSettings:
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-0123456789abcdef0", availability_zones=["eu-central-1a"], private_subnet_ids=["subnet-0123456789abcdef0"]
    )
    return FunctionSettings(
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnets=vpc.private_subnets),
        security_group=ec2.SecurityGroup.from_security_group_id(stack, "Group", "sg-0123456789abcdef0") if with_group else None,
        logs_key=kms.Key(stack, "LogsKey"),
        queue_key=queue_key or kms.Key(stack, "QueueKey"),
        log_retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        powertools_layer_version=1,
    )


def lid(construct: Any) -> str:
    resource = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
    stack = cdk.Stack.of(resource)
    return str(stack.resolve(stack.get_logical_id(resource)))


def resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = dict(template.find_resources(resource_type))  # type: ignore[arg-type]
    return found


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = document["Statement"]
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)
