"""The REGIONAL AWS WAF web ACL in front of the Cognito user pool's API endpoint (issue 17, R9).

Cognito user pools accept one web ACL each, which inspects every request to the pool's API service
endpoint (and managed login, which this pool does not have). Cognito hides personal data from WAF
(user names, passwords), so rules match on IP, path and the requested API operation: the
``X-Amz-Target`` header (``AWSCognitoIdentityProviderService.InitiateAuth`` ...).
https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-waf.html

Rules, in evaluation order:

  0  PublicAuthRateLimit   sign-in operations per client IP from outside the VPC (anyone holding the
                           public client ID can call cognito-idp directly, bypassing CloudFront)
  10 ServiceAuthRateLimit  the same operations from inside the VPC: the service's tasks sign every
                           user in, so per-IP there means per task; a higher brake for a runaway task
  20 AWSManagedRulesAmazonIpReputationList, 30 AWSManagedRulesCommonRuleSet

Not the Account Takeover Prevention group (AWSManagedRulesATPRuleSet): a web ACL that uses it
cannot be associated with a user pool (same page). Logs go to ``aws-waf-logs-*`` in this region,
with the Authorization and Cookie headers redacted.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct
from constructs.traceability import trace
from constructs.waf_logging import add_waf_logging

AUTH_OPERATIONS = (
    "InitiateAuth",
    "RespondToAuthChallenge",
    "AssociateSoftwareToken",
    "VerifySoftwareToken",
    "ForgotPassword",
    "ConfirmForgotPassword",
    "ChangePassword",
    "SignUp",
    "ConfirmSignUp",
)
AUTH_TARGET_REGEX = r"^AWSCognitoIdentityProviderService\.(" + "|".join(AUTH_OPERATIONS) + r")$"
MANAGED_RULE_GROUPS = ("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet")
RATE_LIMITED_RESPONSE_KEY = "RateLimited"


@dataclass(frozen=True, kw_only=True)
class UserPoolWebAclSettings:
    name: str
    vpc_cidr: str
    public_auth_rate_limit: int
    public_auth_window_seconds: int
    service_auth_rate_limit: int
    service_auth_window_seconds: int


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True)


def _auth_operations() -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": "x-amz-target"}),
            regex_string=AUTH_TARGET_REGEX,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )


class UserPoolWebAcl(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        user_pool: cognito.IUserPool,
        settings: UserPoolWebAclSettings,
        logs_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc_addresses = wafv2.CfnIPSet(
            self,
            "VpcAddresses",
            scope="REGIONAL",
            ip_address_version="IPV4",
            addresses=[settings.vpc_cidr],
            description="The MediVault VPC: requests through the cognito-idp interface endpoint",
        )
        from_vpc = wafv2.CfnWebACL.StatementProperty(
            ip_set_reference_statement=wafv2.CfnWebACL.IPSetReferenceStatementProperty(arn=self.vpc_addresses.attr_arn)
        )
        not_from_vpc = wafv2.CfnWebACL.StatementProperty(not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=from_vpc))
        rate_limited = wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(response_code=429, custom_response_body_key=RATE_LIMITED_RESPONSE_KEY)
            )
        )
        rules = [
            self._rate_rule(
                name="PublicAuthRateLimit",
                priority=0,
                limit=settings.public_auth_rate_limit,
                window=settings.public_auth_window_seconds,
                origin=not_from_vpc,
                action=rate_limited,
                acl_name=settings.name,
            ),
            self._rate_rule(
                name="ServiceAuthRateLimit",
                priority=10,
                limit=settings.service_auth_rate_limit,
                window=settings.service_auth_window_seconds,
                origin=from_vpc,
                action=rate_limited,
                acl_name=settings.name,
            ),
        ]
        for index, group in enumerate(MANAGED_RULE_GROUPS):
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=group,
                    priority=20 + 10 * index,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(vendor_name="AWS", name=group)
                    ),
                    visibility_config=_visibility(f"{settings.name}-{group}"),
                )
            )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=settings.name,
            description="MediVault EU sign-in: per-IP limits on the Cognito sign-in operations, AWS managed rule groups - R9",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            custom_response_bodies={
                RATE_LIMITED_RESPONSE_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content='{"error":"too many requests, retry later"}'
                )
            },
            rules=rules,
            visibility_config=_visibility(settings.name),
        )
        # CloudFormation creates the association after both exist; WAF may still be propagating the
        # new web ACL (AssociateWebACL: WAFUnavailableEntityException) - see tests/stacks/test_identity.py.
        self.association = wafv2.CfnWebACLAssociation(self, "Association", resource_arn=user_pool.user_pool_arn, web_acl_arn=self.web_acl.attr_arn)

        self.log_group, self.logging = add_waf_logging(
            self, web_acl=self.web_acl, name=settings.name, logs_key=logs_key, log_retention=log_retention, removal_policy=removal_policy
        )
        trace(
            self,
            ["R9"],
            ["security"],
            "A regional WAF web ACL on the user pool rate-limits the sign-in operations per IP (public and in-VPC "
            "separately) and runs the AWS IP-reputation and common rule groups, logging with credentials redacted.",
        )

    @staticmethod
    def _rate_rule(
        *,
        name: str,
        priority: int,
        limit: int,
        window: int,
        origin: wafv2.CfnWebACL.StatementProperty,
        action: wafv2.CfnWebACL.RuleActionProperty,
        acl_name: str,
    ) -> wafv2.CfnWebACL.RuleProperty:
        return wafv2.CfnWebACL.RuleProperty(
            name=name,
            priority=priority,
            action=action,
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP",
                    limit=limit,
                    evaluation_window_sec=window,
                    scope_down_statement=wafv2.CfnWebACL.StatementProperty(
                        and_statement=wafv2.CfnWebACL.AndStatementProperty(statements=[_auth_operations(), origin])
                    ),
                )
            ),
            visibility_config=_visibility(f"{acl_name}-{name}"),
        )
