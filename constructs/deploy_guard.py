"""Make a deploy of a review-only configuration fail early, before anything is created.

Review synth works with documented placeholders (no domain, placeholder ARNs). Deploying such a
stack must not half-build it: a CloudFormation *rule* is evaluated when the change set is
created, before any resource, and its assertion fails with the message given here.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct


def refuse_deploy(scope: Construct, construct_id: str, *, message: str) -> cdk.CfnRule:
    """Add a rule that always fails at deploy time with ``message`` (synth is unaffected)."""
    if len(message) < 20:
        raise ValueError("refuse_deploy: the message must tell the deployer what to configure")
    stack = cdk.Stack.of(scope)
    # cfn-lint W8003 ("Fn::Equals will always return False") is exactly the point of this rule.
    # cfn-lint reads ignores per resource or per template; a Rule is not a resource, so: template.
    lint = dict(stack.template_options.metadata or {}).get("cfn-lint", {"config": {"ignore_checks": []}})
    if "W8003" not in lint["config"]["ignore_checks"]:
        lint["config"]["ignore_checks"].append("W8003")
    stack.template_options.metadata = {**(stack.template_options.metadata or {}), "cfn-lint": lint}
    return cdk.CfnRule(
        scope,
        construct_id,
        assertions=[cdk.CfnRuleAssertion(assert_=cdk.Fn.condition_equals("review-placeholder", "configured"), assert_description=message)],
    )
