"""The CloudFront-scoped AWS WAF web ACL (R9) and its logging, for a us-east-1 stack.

Rules, in evaluation order (priority), each with its own CloudWatch metric and sampled requests:

  0  GeoBlock             block every country outside the served list (cheap, decisive, first)
  10 LoginRateLimit       per client IP on the login/auth paths, 60 s window, AWS's minimum limit (429)
  20 GlobalRateLimit      per client IP on everything (flood brake) (429)
  30+ managed groups      AmazonIpReputationList, AnonymousIpList, CommonRuleSet, KnownBadInputs, SQLi

Rate rules come before the managed groups so a flood is cut before the costlier inspection runs;
a rate rule counts every request that reaches it, also those a later rule would block.

Logs go to a CloudWatch log group named ``aws-waf-logs-*`` (WAF requires the prefix), encrypted
with a key of this region; the Authorization and Cookie headers are redacted (credentials and
session tokens never land in logs).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct
from constructs.traceability import trace
from constructs.waf_logging import add_waf_logging

RATE_LIMITED_RESPONSE_KEY = "RateLimited"
GEO_PRIORITY = 0
LOGIN_RATE_PRIORITY = 10
GLOBAL_RATE_PRIORITY = 20
FIRST_MANAGED_PRIORITY = 30


@dataclass(frozen=True, kw_only=True)
class WebAclSettings:
    """What the web ACL enforces; the edge stack maps the environment's ``EdgeConfig`` (validated there) onto it."""

    served_countries: tuple[str, ...]  # ISO 3166-1 alpha-2 codes let through the geo rule
    login_paths: tuple[str, ...]  # URI path prefixes rate-limited per client IP (compared lower-cased)
    login_rate_limit: int  # requests per client IP per window (AWS WAF accepts 10 and more)
    login_evaluation_window_seconds: int
    global_rate_limit: int
    global_evaluation_window_seconds: int
    managed_rule_groups: tuple[str, ...]  # AWS managed rule groups, in evaluation order
    common_rule_set_count_only: tuple[str, ...] = ()  # AWSManagedRulesCommonRuleSet rules switched to COUNT

    def __post_init__(self) -> None:
        # Shapes WAF itself would reject at deploy time (an empty geo match, a scope-down with no statement).
        if not self.served_countries:
            raise ValueError("WebAclSettings.served_countries: empty; allowed: one or more ISO 3166-1 alpha-2 codes")
        if not self.login_paths:
            raise ValueError("WebAclSettings.login_paths: empty; allowed: one or more URI path prefixes starting with /")


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True)


def _rate_limited() -> wafv2.CfnWebACL.RuleActionProperty:
    return wafv2.CfnWebACL.RuleActionProperty(
        block=wafv2.CfnWebACL.BlockActionProperty(
            custom_response=wafv2.CfnWebACL.CustomResponseProperty(response_code=429, custom_response_body_key=RATE_LIMITED_RESPONSE_KEY)
        )
    )


def _login_path_match(path: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="STARTS_WITH",
            search_string=path.lower(),
            # /LOGIN and /login are one endpoint to most frameworks: compare lower-cased.
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")],
        )
    )


class EdgeWebAcl(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        settings: WebAclSettings,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        paths = [_login_path_match(p) for p in settings.login_paths]
        scope_down = (
            paths[0] if len(paths) == 1 else wafv2.CfnWebACL.StatementProperty(or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=paths))
        )

        rules: list[wafv2.CfnWebACL.RuleProperty] = [
            wafv2.CfnWebACL.RuleProperty(
                name="GeoBlock",
                priority=GEO_PRIORITY,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    not_statement=wafv2.CfnWebACL.NotStatementProperty(
                        statement=wafv2.CfnWebACL.StatementProperty(
                            geo_match_statement=wafv2.CfnWebACL.GeoMatchStatementProperty(country_codes=list(settings.served_countries))
                        )
                    )
                ),
                visibility_config=_visibility(f"{name}-GeoBlock"),
            ),
            wafv2.CfnWebACL.RuleProperty(
                name="LoginRateLimit",
                priority=LOGIN_RATE_PRIORITY,
                action=_rate_limited(),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP",
                        limit=settings.login_rate_limit,
                        evaluation_window_sec=settings.login_evaluation_window_seconds,
                        scope_down_statement=scope_down,
                    )
                ),
                visibility_config=_visibility(f"{name}-LoginRateLimit"),
            ),
            wafv2.CfnWebACL.RuleProperty(
                name="GlobalRateLimit",
                priority=GLOBAL_RATE_PRIORITY,
                action=_rate_limited(),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP",
                        limit=settings.global_rate_limit,
                        evaluation_window_sec=settings.global_evaluation_window_seconds,
                    )
                ),
                visibility_config=_visibility(f"{name}-GlobalRateLimit"),
            ),
        ]
        for index, group in enumerate(settings.managed_rule_groups):
            overrides = None
            if group == "AWSManagedRulesCommonRuleSet" and settings.common_rule_set_count_only:
                overrides = [
                    wafv2.CfnWebACL.RuleActionOverrideProperty(name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}))
                    for rule in settings.common_rule_set_count_only
                ]
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=group,
                    priority=FIRST_MANAGED_PRIORITY + 10 * index,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name=group, rule_action_overrides=overrides
                        )
                    ),
                    visibility_config=_visibility(f"{name}-{group}"),
                )
            )

        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            description="MediVault EU edge: geo-block, login and per-IP rate limits, AWS managed rule groups - R9",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            custom_response_bodies={
                RATE_LIMITED_RESPONSE_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content='{"error":"too many requests, retry later"}'
                )
            },
            rules=rules,
            visibility_config=_visibility(name),
        )

        # Security evidence (blocked attacks, rate-limit hits): kept like the other operational logs.
        self.log_group, self.logging = add_waf_logging(
            self, web_acl=self.web_acl, name=name, logs_key=logs_key, log_retention=log_retention, removal_policy=removal_policy
        )
        trace(
            self,
            ["R9"],
            ["security", "reliability"],
            "A CloudFront WAF web ACL blocks unserved countries, rate-limits logins and each IP, and runs the AWS SQLi, common, "
            "bad-input and IP-reputation rule groups, logging with credentials redacted.",
        )
