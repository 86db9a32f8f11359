"""The us-east-1 edge stack: the CloudFront web ACL's rules in order, its logging, the certificate."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from stacks import config as cfg
from stacks.config import edge
from tests.conftest import Synthesized, resources_of

pytestmark = pytest.mark.requirements("R9", "R5")

MANAGED = [
    ("AWSManagedRulesAmazonIpReputationList", 30),
    ("AWSManagedRulesAnonymousIpList", 40),
    ("AWSManagedRulesCommonRuleSet", 50),
    ("AWSManagedRulesKnownBadInputsRuleSet", 60),
    ("AWSManagedRulesSQLiRuleSet", 70),
]
# Renaming these replaces the key / the log group holding security evidence.
PINNED = {"EdgeLogsKey8C2ECF96": "AWS::KMS::Key", "WafLogs5C6BB543": "AWS::Logs::LogGroup"}


def _acl(synth: Synthesized, environment: str) -> dict[str, Any]:
    acls = resources_of(synth.template(environment, "edge_global"), "AWS::WAFv2::WebACL")
    assert len(acls) == 1
    props: dict[str, Any] = next(iter(acls.values()))["Properties"]
    return props


def _rules(synth: Synthesized, environment: str) -> dict[str, dict[str, Any]]:
    return {r["Name"]: r for r in _acl(synth, environment)["Rules"]}


def test_stack_lives_in_us_east_1(synth: Synthesized, environment: str) -> None:
    stack = synth.stack(environment, "edge_global")
    assert stack.region == "us-east-1"
    acl = _acl(synth, environment)
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["DefaultAction"] == {"Allow": {}}
    assert acl["Name"] == f"medivault-{environment}"


def test_rules_and_priorities_in_their_deliberate_order(synth: Synthesized, environment: str) -> None:
    order = [(r["Name"], r["Priority"]) for r in sorted(_acl(synth, environment)["Rules"], key=lambda r: r["Priority"])]
    assert order == [("GeoBlock", 0), ("LoginRateLimit", 10), ("GlobalRateLimit", 20), *MANAGED]


def test_every_rule_and_the_acl_have_metrics(synth: Synthesized, environment: str) -> None:
    acl = _acl(synth, environment)
    names = {acl["VisibilityConfig"]["MetricName"]}
    for rule in [acl, *acl["Rules"]]:
        visibility = rule["VisibilityConfig"]
        assert visibility["CloudWatchMetricsEnabled"] is True
        assert visibility["SampledRequestsEnabled"] is True
        names.add(visibility["MetricName"])
    assert len(names) == len(acl["Rules"]) + 1, "metric names must be distinct per rule"


def test_geo_rule_blocks_everything_outside_the_served_countries(synth: Synthesized, environment: str) -> None:
    rule = _rules(synth, environment)["GeoBlock"]
    assert rule["Action"] == {"Block": {}}
    countries = rule["Statement"]["NotStatement"]["Statement"]["GeoMatchStatement"]["CountryCodes"]
    assert sorted(countries) == sorted((*edge.EU_EEA_COUNTRIES, "US"))


def test_login_rate_limit_is_scoped_down_to_the_login_paths(synth: Synthesized, environment: str) -> None:
    rule = _rules(synth, environment)["LoginRateLimit"]
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    rate = rule["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["EvaluationWindowSec"], rate["AggregateKeyType"]) == (10, 60, "IP")
    # One prefix, the records service's sign-in routes (POST /v1/auth/sign-in, /v1/auth/mfa, /v1/auth/refresh):
    # a single byte match (WAF's OrStatement needs two or more statements).
    scope_down = rate["ScopeDownStatement"]
    assert set(scope_down) == {"ByteMatchStatement"}
    matches = [scope_down["ByteMatchStatement"]]
    assert [m["SearchString"] for m in matches] == ["/v1/auth/"]
    for match in matches:
        assert match["FieldToMatch"] == {"UriPath": {}}
        assert match["PositionalConstraint"] == "STARTS_WITH"
        assert match["TextTransformations"] == [{"Priority": 0, "Type": "LOWERCASE"}]


def test_global_rate_limit_covers_everything_per_ip(synth: Synthesized, environment: str) -> None:
    rule = _rules(synth, environment)["GlobalRateLimit"]
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate == {"AggregateKeyType": "IP", "Limit": 2000, "EvaluationWindowSec": 300}


def test_managed_rule_groups_enforce(synth: Synthesized, environment: str) -> None:
    rules = _rules(synth, environment)
    for name, _ in MANAGED:
        rule = rules[name]
        assert rule["OverrideAction"] == {"None": {}}, name
        statement = rule["Statement"]["ManagedRuleGroupStatement"]
        assert (statement["VendorName"], statement["Name"]) == ("AWS", name)
        overrides = statement.get("RuleActionOverrides", [])
        if name == "AWSManagedRulesCommonRuleSet":
            # Only the 8 KB body-size rule counts instead of blocking (medical uploads); the rest block.
            assert overrides == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
        else:
            assert overrides == [], name


def test_logging_redacts_authorization_and_cookie(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "edge_global")
    configs = resources_of(template, "AWS::WAFv2::LoggingConfiguration")
    assert len(configs) == 1
    props = next(iter(configs.values()))["Properties"]
    acl_id = next(iter(resources_of(template, "AWS::WAFv2::WebACL")))
    assert props["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert props["RedactedFields"] == [{"SingleHeader": {"Name": "authorization"}}, {"SingleHeader": {"Name": "cookie"}}]
    destination = template.to_json()["Resources"]["WafLoggingAE8B7F9A"]["Properties"]["LogDestinationConfigs"]
    assert len(destination) == 1
    joined = destination[0]["Fn::Join"][1]
    assert ":log-group:" in joined[0] and joined[1] == {"Ref": "WafLogs5C6BB543"} and joined[-1:] != [":*"]


def test_waf_log_group_is_named_encrypted_and_retained(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "edge_global")
    groups = resources_of(template, "AWS::Logs::LogGroup")
    group = groups["WafLogs5C6BB543"]
    assert group["Properties"]["LogGroupName"] == f"aws-waf-logs-medivault-{environment}"
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["EdgeLogsKey8C2ECF96", "Arn"]}
    assert group["Properties"]["RetentionInDays"] == {"production": 731, "sandbox": 30}[environment]
    assert group["DeletionPolicy"] == {"production": "Retain", "sandbox": "Delete"}[environment]
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": {"Statement": Match.array_with([Match.object_like({"Principal": {"Service": "logs.us-east-1.amazonaws.com"}})])},
        },
    )
    (policy,) = resources_of(template, "AWS::Logs::ResourcePolicy").values()
    document = json.dumps(policy["Properties"]["PolicyDocument"])
    assert '\\"Service\\":\\"delivery.logs.amazonaws.com\\"' in document
    assert "aws:SourceAccount" in document and "log-stream:*" in document


def test_stateful_logical_ids_are_pinned(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "edge_global").to_json()["Resources"]
    for lid, kind in PINNED.items():
        assert template.get(lid, {}).get("Type") == kind, f"{lid} renamed: {sorted(template)}"


def test_without_a_domain_no_certificate_and_deploy_is_refused(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "edge_global")
    if environment == "production":  # production always has a domain: see the next test
        return
    assert resources_of(template, "AWS::CertificateManager::Certificate") == {}
    assertion = template.to_json()["Rules"]["RequireDomain"]["Assertions"][0]
    assert assertion["Assert"] == {"Fn::Equals": ["review-placeholder", "configured"]}
    assert "no domain is configured" in assertion["AssertDescription"]


def test_reviewed_production_is_the_production_design_on_its_guarded_placeholder_domain(synth: Synthesized) -> None:
    """Issue 14 defect 7: production's review template has the custom certificate and TLSv1.2_2021, no
    default-certificate acknowledgment; the placeholder domain is refused by every stack's rule."""
    placeholder = cfg.production().domain
    assert placeholder is not None and placeholder.is_placeholder
    edge_global = synth.template("production", "edge_global").to_json()
    [certificate] = resources_of(synth.template("production", "edge_global"), "AWS::CertificateManager::Certificate").values()
    assert certificate["Properties"]["DomainName"] == placeholder.domain_name
    assert "RequireDomain" not in edge_global["Rules"]
    assert "review placeholders" in edge_global["Rules"]["RefusePlaceholders"]["Assertions"][0]["AssertDescription"]
    edge = synth.template("production", "edge").to_json()
    [distribution] = [r for r in edge["Resources"].values() if r["Type"] == "AWS::CloudFront::Distribution"]
    viewer = distribution["Properties"]["DistributionConfig"]["ViewerCertificate"]
    assert (viewer["MinimumProtocolVersion"], viewer["SslSupportMethod"]) == ("TLSv1.2_2021", "sni-only")
    assert "cdk_nag" not in distribution.get("Metadata", {})  # no AwsSolutions-CFR4 acknowledgment
    assert "RefusePlaceholders" in edge["Rules"]
