"""How cdk-nag names a resource in a finding id, so an acknowledgment matches it (one owner).

cdk-nag prints the ARNs of a policy statement with the stack's pseudo parameters as
``<AWS::Partition>``, ``<AWS::AccountId>``, ``<AWS::Region>`` when they are tokens (an env-agnostic
stack) and as their literal values when the stack has a concrete account and region. An
acknowledgment written with either form alone silently stops matching in the other synth
(tests synthesize both).
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct


def arn_id(scope: IConstruct, template: str) -> str:
    """``template`` with ``{partition}``, ``{account}`` and ``{region}`` filled in as cdk-nag prints them."""
    stack = cdk.Stack.of(scope)

    def shown(value: str, pseudo: str) -> str:
        return f"<AWS::{pseudo}>" if cdk.Token.is_unresolved(value) else value

    return template.format(
        partition=shown(stack.partition, "Partition"),
        account=shown(stack.account, "AccountId"),
        region=shown(stack.region, "Region"),
    )


def logical_id(construct: IConstruct) -> str:
    """The logical ID of ``construct``'s CloudFormation resource as cdk-nag prints it in ``<Id.Arn>``."""
    resource = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
    if not isinstance(resource, cdk.CfnElement):
        raise TypeError(f"logical_id: {construct.node.path} has no CloudFormation resource")
    stack = cdk.Stack.of(resource)
    return str(stack.resolve(stack.get_logical_id(resource)))
