"""Narrow the statements of a policy CDK generates (CDK Pipelines' roles) when no prop reaches them.

``scope_statements(policy, rewrite)`` replaces the ``PolicyDocument`` of an ``AWS::IAM::Policy`` or
``AWS::IAM::ManagedPolicy`` by a lazy value: at synth time the original document is resolved with
every statement CDK added (so grants made after this call are kept), then each statement is
passed through ``rewrite``, which returns the statements to keep in its place (the statement
itself, narrower ones, or none). The template, and so cdk-nag and cfn-lint, see only the result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam

Statement = dict[str, Any]
Rewrite = Callable[[Statement], list[Statement]]


@jsii.implements(cdk.IStableAnyProducer)
class _RewrittenDocument:
    def __init__(self, stack: cdk.Stack, document: Any, rewrite: Rewrite) -> None:
        self._stack = stack
        self._document = document
        self._rewrite = rewrite

    def produce(self) -> Any:
        resolved = self._stack.resolve(self._document)
        statements: list[Statement] = []
        for statement in resolved.get("Statement", []):
            statements.extend(self._rewrite(statement))
        return {**resolved, "Statement": statements}


def scope_statements(policy: iam.Policy | iam.ManagedPolicy, rewrite: Rewrite) -> None:
    """Rewrite the synthesized statements of ``policy`` (see the module docstring)."""
    cfn = policy.node.default_child
    if not isinstance(cfn, iam.CfnPolicy | iam.CfnManagedPolicy):
        raise TypeError(f"{policy.node.path}: not an IAM policy ({type(cfn).__name__})")
    original = cfn.policy_document
    cfn.policy_document = cdk.Lazy.any(_RewrittenDocument(cdk.Stack.of(policy), original, rewrite))


def actions_of(statement: Statement) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def resources_of(statement: Statement) -> list[Any]:
    resource = statement.get("Resource", [])
    return [resource] if isinstance(resource, str | dict) else list(resource)
