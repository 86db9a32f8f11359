"""EdgeWebAcl built alone in a bare Stack from its own settings (no stacks/config involved).

The login scope-down: WAF's OR statement "requires at least two nested statements"
(https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-or.html), so one login
prefix must be a plain byte match and two or more an OrStatement of byte matches.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template
from constructs.edge_web_acl import EdgeWebAcl, WebAclSettings

pytestmark = pytest.mark.requirements("R9")

SETTINGS = WebAclSettings(
    served_countries=("DE", "US"),
    login_paths=("/v1/auth/",),
    login_rate_limit=10,
    login_evaluation_window_seconds=60,
    global_rate_limit=2000,
    global_evaluation_window_seconds=300,
    managed_rule_groups=("AWSManagedRulesCommonRuleSet", "AWSManagedRulesSQLiRuleSet"),
    common_rule_set_count_only=("SizeRestrictions_BODY",),
)


def _acl(settings: WebAclSettings) -> dict[str, Any]:
    stack = cdk.Stack(cdk.App(), "Edge", env=cdk.Environment(account="123456789012", region="us-east-1"))
    key = kms.Key(stack, "Key")
    EdgeWebAcl(
        stack,
        "Waf",
        name="mv-test",
        settings=settings,
        logs_key=key,
        log_retention=logs.RetentionDays.ONE_YEAR,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    acls = Template.from_stack(stack).find_resources("AWS::WAFv2::WebACL")
    assert len(acls) == 1
    props: dict[str, Any] = next(iter(acls.values()))["Properties"]
    return props


def _rules(props: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in props["Rules"]}


def test_one_login_prefix_is_a_single_byte_match() -> None:
    scope_down = _rules(_acl(SETTINGS))["LoginRateLimit"]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]
    assert scope_down == {
        "ByteMatchStatement": {
            "FieldToMatch": {"UriPath": {}},
            "PositionalConstraint": "STARTS_WITH",
            "SearchString": "/v1/auth/",
            "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}],
        }
    }


def test_two_login_prefixes_are_an_or_of_byte_matches_lower_cased() -> None:
    props = _acl(dataclasses.replace(SETTINGS, login_paths=("/v1/auth/", "/Legacy/Login")))
    scope_down = _rules(props)["LoginRateLimit"]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]
    statements = scope_down["OrStatement"]["Statements"]
    assert [s["ByteMatchStatement"]["SearchString"] for s in statements] == ["/v1/auth/", "/legacy/login"]


def test_settings_reach_the_rules_in_order() -> None:
    props = _acl(SETTINGS)
    assert [(r["Name"], r["Priority"]) for r in props["Rules"]] == [
        ("GeoBlock", 0),
        ("LoginRateLimit", 10),
        ("GlobalRateLimit", 20),
        ("AWSManagedRulesCommonRuleSet", 30),
        ("AWSManagedRulesSQLiRuleSet", 40),
    ]
    rules = _rules(props)
    assert rules["GeoBlock"]["Statement"]["NotStatement"]["Statement"]["GeoMatchStatement"]["CountryCodes"] == ["DE", "US"]
    login = rules["LoginRateLimit"]["Statement"]["RateBasedStatement"]
    assert (login["Limit"], login["EvaluationWindowSec"], login["AggregateKeyType"]) == (10, 60, "IP")
    overall = rules["GlobalRateLimit"]["Statement"]["RateBasedStatement"]
    assert overall == {"AggregateKeyType": "IP", "Limit": 2000, "EvaluationWindowSec": 300}
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert common["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    assert "RuleActionOverrides" not in rules["AWSManagedRulesSQLiRuleSet"]["Statement"]["ManagedRuleGroupStatement"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"login_paths": ()}, r"WebAclSettings.login_paths: empty; allowed: one or more URI path prefixes"),
        ({"served_countries": ()}, r"WebAclSettings.served_countries: empty; allowed: one or more ISO 3166-1"),
    ],
)
def test_settings_refuse_what_waf_would_reject(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(SETTINGS, **changes)
