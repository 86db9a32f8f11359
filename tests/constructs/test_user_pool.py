"""The sign-in directory and its web ACL, each built in a bare stack (issue 17, R3, R9).

Deploy-time behaviour these settings rely on (cited per test):
- Threat protection exists only in the Plus feature plan:
  https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-settings-threat-protection.html
  and https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-sign-in-feature-plans.html
- Deletion protection makes DeleteUserPool fail until it is turned off:
  https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-deletion-protection.html
- A web ACL associated with a user pool is REGIONAL, one per pool, without the ATP rule group:
  https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-waf.html
"""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, WriteNagSuppressionsToCloudFormationAspect
from constructs.user_pool import GROUPS, MediVaultUserPool, UserPoolSettings
from constructs.user_pool_web_acl import AUTH_OPERATIONS, AUTH_TARGET_REGEX, UserPoolWebAcl, UserPoolWebAclSettings

pytestmark = pytest.mark.requirements("R3", "R9")

SETTINGS = UserPoolSettings(
    name="medivault-test",
    threat_protection="FULL_FUNCTION",
    password_min_length=14,
    temporary_password_days=3,
    access_token_minutes=15,
    id_token_minutes=20,
    refresh_token_hours=12,
    auth_session_minutes=3,
    deletion_protection=True,
    removal_policy=cdk.RemovalPolicy.RETAIN,
)
ACL_SETTINGS = UserPoolWebAclSettings(
    name="medivault-test-user-pool",
    vpc_cidr="10.20.0.0/16",
    public_auth_rate_limit=100,
    public_auth_window_seconds=300,
    service_auth_rate_limit=5000,
    service_auth_window_seconds=300,
)


def _build(settings: UserPoolSettings = SETTINGS, *, gates: bool = False) -> tuple[cdk.App, cdk.Stack, Template]:
    app = cdk.App()
    if gates:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app))
        cdk.Aspects.of(app).add(WriteNagSuppressionsToCloudFormationAspect())
    stack = cdk.Stack(app, "Test", env=cdk.Environment(account="123456789012", region="eu-central-1"))
    pool = MediVaultUserPool(stack, "Identity", settings=settings)
    key = kms.Key(stack, "LogsKey", enable_key_rotation=True)
    UserPoolWebAcl(
        stack,
        "SignInWebAcl",
        user_pool=pool.user_pool,
        settings=ACL_SETTINGS,
        logs_key=key,
        log_retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    return app, stack, Template.from_stack(stack)


@pytest.fixture(scope="module")
def template() -> Template:
    return _build()[2]


def _one(template: Template, resource_type: str) -> dict[str, Any]:
    found = template.find_resources(resource_type)
    assert len(found) == 1, f"{resource_type}: {list(found)}"
    resource: dict[str, Any] = dict(next(iter(found.values())))
    return resource


def test_plus_plan_with_enforced_threat_protection(template: Template) -> None:
    """Plus is the only plan with threat protection (pages above); ENFORCED applies the actions."""
    template.has_resource_properties("AWS::Cognito::UserPool", {"UserPoolTier": "PLUS", "UserPoolAddOns": {"AdvancedSecurityMode": "ENFORCED"}})
    risk = _one(template, "AWS::Cognito::UserPoolRiskConfigurationAttachment")["Properties"]
    assert risk["ClientId"] == "ALL"
    assert risk["CompromisedCredentialsRiskConfiguration"] == {
        "Actions": {"EventAction": "BLOCK"},
        "EventFilter": ["SIGN_IN", "PASSWORD_CHANGE", "SIGN_UP"],
    }
    actions = risk["AccountTakeoverRiskConfiguration"]["Actions"]
    assert actions["HighAction"] == {"EventAction": "BLOCK", "Notify": False}
    assert {actions[level]["EventAction"] for level in ("MediumAction", "LowAction")} == {"MFA_REQUIRED"}


def test_audit_only_maps_to_audit(template: Template) -> None:
    audit = _build(SETTINGS.__class__(**{**SETTINGS.__dict__, "threat_protection": "AUDIT_ONLY"}))[2]
    audit.has_resource_properties("AWS::Cognito::UserPool", {"UserPoolAddOns": {"AdvancedSecurityMode": "AUDIT"}})
    with pytest.raises(ValueError, match=r"threat_protection: 'OFF'; allowed: FULL_FUNCTION, AUDIT_ONLY"):
        SETTINGS.__class__(**{**SETTINGS.__dict__, "threat_protection": "OFF"})


def test_totp_mfa_required_no_sms(template: Template) -> None:
    pool = _one(template, "AWS::Cognito::UserPool")["Properties"]
    assert pool["MfaConfiguration"] == "ON"
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert "SmsConfiguration" not in pool
    assert not template.find_resources("AWS::IAM::Role"), "no SMS role: SMS is not a factor"


def test_strong_password_policy(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "Policies": {
                "PasswordPolicy": {
                    "MinimumLength": 14,
                    "RequireLowercase": True,
                    "RequireUppercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": True,
                    "TemporaryPasswordValidityDays": 3,
                }
            }
        },
    )


def test_admins_create_every_user_recovery_by_email_case_insensitive(template: Template) -> None:
    pool = _one(template, "AWS::Cognito::UserPool")["Properties"]
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert pool["AccountRecoverySetting"] == {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]}
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}


def test_deletion_protection_and_retain_follow_the_settings(template: Template) -> None:
    """Deletion protection: DeleteUserPool is refused while ACTIVE (page above); the sandbox turns it
    off and lets CloudFormation delete the pool with its stack."""
    pool = _one(template, "AWS::Cognito::UserPool")
    assert pool["Properties"]["DeletionProtection"] == "ACTIVE"
    assert (pool["DeletionPolicy"], pool["UpdateReplacePolicy"]) == ("Retain", "Retain")
    sandbox = _one(
        _build(SETTINGS.__class__(**{**SETTINGS.__dict__, "deletion_protection": False, "removal_policy": cdk.RemovalPolicy.DESTROY}))[2],
        "AWS::Cognito::UserPool",
    )
    assert sandbox["Properties"]["DeletionProtection"] == "INACTIVE"
    assert sandbox["DeletionPolicy"] == "Delete"


def test_no_domain_so_the_interface_endpoint_serves_the_pool(template: Template) -> None:
    """A user pool with a domain is incompatible with AWS PrivateLink (notes 1-3 of
    https://docs.aws.amazon.com/cognito/latest/developerguide/vpc-interface-endpoints.html)."""
    assert not template.find_resources("AWS::Cognito::UserPoolDomain")
    assert not template.find_resources("AWS::Cognito::ManagedLoginBranding")


def test_groups(template: Template) -> None:
    groups = {g["Properties"]["GroupName"]: g["Properties"]["Precedence"] for g in template.find_resources("AWS::Cognito::UserPoolGroup").values()}
    assert groups == {"clinician": 10, "patient": 20} == {name: p for name, (p, _) in GROUPS.items()}


def test_public_client_password_and_refresh_only(template: Template) -> None:
    client = _one(template, "AWS::Cognito::UserPoolClient")["Properties"]
    assert client["GenerateSecret"] is False
    assert sorted(client["ExplicitAuthFlows"]) == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is False
    assert "AllowedOAuthFlows" not in client and "CallbackURLs" not in client
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["EnableTokenRevocation"] is True
    units = client["TokenValidityUnits"]
    assert (client["AccessTokenValidity"], units["AccessToken"]) == (15, "minutes")
    assert (client["IdTokenValidity"], units["IdToken"]) == (20, "minutes")
    assert client["RefreshTokenValidity"] * {"minutes": 1, "hours": 60, "days": 1440}[units["RefreshToken"]] == 12 * 60
    assert client["AuthSessionValidity"] == 3


def test_compliance_gates_pass_without_acknowledgments() -> None:
    """AwsSolutions-COG1 (password), COG2 (MFA), COG8 (Plus) and HIPAA's WAFv2 logging are met in the
    infrastructure: nothing is acknowledged, and synth with both packs raises nothing."""
    app, _, template = _build(gates=True)
    app.synth()  # raises on any finding
    suppressed = {lid for lid, r in template.to_json()["Resources"].items() if "cdk_nag" in r.get("Metadata", {})}
    assert suppressed == set()


def test_compliance_gate_sees_a_weak_pool() -> None:
    """The gate itself: an 8-character policy without symbols is a COG1 finding."""
    app = cdk.App()
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Weak", env=cdk.Environment(account="123456789012", region="eu-central-1"))
    MediVaultUserPool(stack, "Identity", settings=SETTINGS)
    pool = stack.node.find_child("Identity").node.find_child("UserPool").node.default_child
    assert isinstance(pool, cognito.CfnUserPool)
    pool.policies = cognito.CfnUserPool.PoliciesProperty(
        password_policy=cognito.CfnUserPool.PasswordPolicyProperty(
            minimum_length=8, require_lowercase=True, require_uppercase=True, require_numbers=True
        )
    )
    with pytest.raises(Exception, match="COG1"):
        app.synth()


# --- web ACL -------------------------------------------------------------------------------------


def test_regional_web_acl_associated_with_the_pool(template: Template) -> None:
    acl = _one(template, "AWS::WAFv2::WebACL")
    assert acl["Properties"]["Scope"] == "REGIONAL"
    association = _one(template, "AWS::WAFv2::WebACLAssociation")["Properties"]
    pool_id = next(iter(template.find_resources("AWS::Cognito::UserPool")))
    acl_id = next(iter(template.find_resources("AWS::WAFv2::WebACL")))
    assert association == {"ResourceArn": {"Fn::GetAtt": [pool_id, "Arn"]}, "WebACLArn": {"Fn::GetAtt": [acl_id, "Arn"]}}
    groups = [r["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") for r in acl["Properties"]["Rules"]]
    assert "AWSManagedRulesATPRuleSet" not in groups, "a web ACL with ATP cannot be associated with a user pool"
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesAmazonIpReputationList"} <= set(groups)


def _rule(template: Template, name: str) -> dict[str, Any]:
    rules = _one(template, "AWS::WAFv2::WebACL")["Properties"]["Rules"]
    return next(r for r in rules if r["Name"] == name)


def test_sign_in_operations_rate_limited_per_ip_public_and_in_vpc(template: Template) -> None:
    """The rate rules match the API operation (X-Amz-Target), never user data (Cognito does not pass it)."""
    ip_set_id = next(iter(template.find_resources("AWS::WAFv2::IPSet")))
    template.has_resource_properties("AWS::WAFv2::IPSet", {"Scope": "REGIONAL", "Addresses": ["10.20.0.0/16"]})
    public, service = _rule(template, "PublicAuthRateLimit"), _rule(template, "ServiceAuthRateLimit")
    assert public["Priority"] < service["Priority"] < _rule(template, "AWSManagedRulesCommonRuleSet")["Priority"]
    for rule, limit, origin in (
        (public, 100, {"NotStatement": {"Statement": {"IPSetReferenceStatement": {"Arn": {"Fn::GetAtt": [ip_set_id, "Arn"]}}}}}),
        (service, 5000, {"IPSetReferenceStatement": {"Arn": {"Fn::GetAtt": [ip_set_id, "Arn"]}}}),
    ):
        rate = rule["Statement"]["RateBasedStatement"]
        assert (rate["AggregateKeyType"], rate["Limit"], rate["EvaluationWindowSec"]) == ("IP", limit, 300)
        operation, network = rate["ScopeDownStatement"]["AndStatement"]["Statements"]
        assert operation["RegexMatchStatement"]["FieldToMatch"] == {"SingleHeader": {"Name": "x-amz-target"}}
        assert network == origin
        assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429


def test_auth_regex_matches_exactly_the_sign_in_operations() -> None:
    # Every operation that takes a password, a TOTP code or creates a user; not the admin API.
    assert set(AUTH_OPERATIONS) == {
        "InitiateAuth", "RespondToAuthChallenge", "AssociateSoftwareToken", "VerifySoftwareToken",
        "ForgotPassword", "ConfirmForgotPassword", "ChangePassword", "SignUp", "ConfirmSignUp",
    }  # fmt: skip
    pattern = re.compile(AUTH_TARGET_REGEX)
    for operation in AUTH_OPERATIONS:
        assert pattern.match(f"AWSCognitoIdentityProviderService.{operation}")
    for other in ("AWSCognitoIdentityProviderService.ListUsers", "AWSCognitoIdentityProviderService.InitiateAuthX", "InitiateAuth"):
        assert not pattern.match(other), other


def test_web_acl_logs_redact_credentials(template: Template) -> None:
    """HIPAA.Security-WAFv2LoggingEnabled; WAF needs the aws-waf-logs- prefix
    (https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html)."""
    template.has_resource_properties("AWS::Logs::LogGroup", {"LogGroupName": "aws-waf-logs-medivault-test-user-pool", "KmsKeyId": Match.any_value()})
    logging = _one(template, "AWS::WAFv2::LoggingConfiguration")["Properties"]
    assert logging["RedactedFields"] == [{"SingleHeader": {"Name": "authorization"}}, {"SingleHeader": {"Name": "cookie"}}]
