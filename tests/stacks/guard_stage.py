"""One environment's stage, built without the compliance gates, for the guard tests (tests/stacks/test_guards_*.py).

The guard tests pin security-relevant values exactly (issue 19, "Tests that catch bugs"); they do
not need the gates (the session fixture ``synth`` and tests/stacks/test_synth.py run those), and
building one stage alone takes a few seconds instead of the whole app's synth, which keeps
``make mutate`` (tools/mutate/) affordable: it re-runs these files once per planted bug.
Templates are keyed by the stack's construct ID (``Keys``, ``Network``, ``Audit``, ...).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from stacks import config as cfg
from stacks.composition import new_app
from stacks.stage import MediVaultStage
from tests.conftest import CONCRETE_ACCOUNTS

Json = dict[str, Any]


@functools.cache
def templates(environment: str) -> dict[str, Json]:
    app = new_app()
    stage = MediVaultStage(app, config=cfg.load(environment, CONCRETE_ACCOUNTS[environment]))
    return {child.node.id: Template.from_stack(child).to_json() for child in stage.node.children if isinstance(child, cdk.Stack)}


def resources(template: Json, resource_type: str) -> dict[str, Json]:
    return {lid: r for lid, r in template.get("Resources", {}).items() if r["Type"] == resource_type}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def walk(value: Any) -> Iterator[Json]:
    """Every mapping inside ``value`` (depth first), ``value`` included."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def role_statements(template: Json, role_lid: str) -> list[Json]:
    """Every statement of every identity policy a role of ``template`` carries: inline, AWS::IAM::Policy
    and AWS::IAM::ManagedPolicy resources that name the role (CDK's way of attaching both)."""
    ref = {"Ref": role_lid}
    role = template["Resources"][role_lid]["Properties"]
    found = [s for policy in role.get("Policies", []) for s in as_list(policy["PolicyDocument"]["Statement"])]
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for lid, policy in resources(template, kind).items():
            props = policy["Properties"]
            if ref in props.get("Roles", []) or {"Ref": lid} in role.get("ManagedPolicyArns", []):
                found.extend(as_list(props["PolicyDocument"]["Statement"]))
    return found
