"""Helpers for construct tests: each builds one construct in a bare ``cdk.Stack()`` (no stage, no config)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template
from cdk_nag import WriteNagSuppressionsToCloudFormationAspect

ENV = cdk.Environment(account="123456789012", region="eu-central-1")
CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


@cache
def _feature_flags() -> tuple[tuple[str, Any], ...]:
    return tuple(json.loads(CDK_JSON.read_text()).get("context", {}).items())


def bare_app() -> cdk.App:
    """An app with the project's feature flags (cdk.json), so a construct builds here what it builds in the stages."""
    return cdk.App(context=dict(_feature_flags()))


def bare_stack(app: cdk.App | None = None, name: str = "Test", env: cdk.Environment = ENV) -> cdk.Stack:
    """A stack of its own; acknowledgments are written into its template (as the stages do)."""
    stack = cdk.Stack(app or bare_app(), name, env=env)
    cdk.Aspects.of(stack).add(WriteNagSuppressionsToCloudFormationAspect())
    return stack


def vpc(stack: cdk.Stack) -> ec2.Vpc:
    return ec2.Vpc(
        stack,
        "Vpc",
        max_azs=3,
        nat_gateways=1,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="App", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )


def acknowledged(template: Template, logical_id: str) -> dict[str, str]:
    """Rule id -> reason of the acknowledgments written on one resource."""
    resource = template.to_json()["Resources"][logical_id]
    return {s["id"]: s["reason"] for s in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])}


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}


def traces(construct: Any) -> list[dict[str, Any]]:
    return [m.data for m in construct.node.metadata if m.type == "medivault:trace"]


def logical_id(construct: Any) -> str:
    """The logical ID of a CloudFormation element, or of a construct's default child, in its stack."""
    resource = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
    assert isinstance(resource, cdk.CfnElement), construct.node.path
    return str(cdk.Stack.of(resource).resolve(resource.logical_id))  # honours override_logical_id
