"""The Identity stack of each environment (issue 17): the user pool, its client, its web ACL, and
how the service reaches the pool from the app subnets.

Deploy-time behaviour (only a deploy confirms; cited per test):
- WAF association: the web ACL must be REGIONAL in the pool's region, one per pool; right after the
  web ACL is created, AssociateWebACL can fail with WAFUnavailableEntityException while it propagates
  (seconds to minutes): https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-waf.html
- Deletion protection: DeleteUserPool fails while it is ACTIVE, so a stack deletion fails too:
  https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-deletion-protection.html
- Feature plan: threat protection needs Plus, billed per MAU with no free tier:
  https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-sign-in-feature-plans.html
- PrivateLink: every user pool API operation except CreateUserPoolDomain is served by
  com.amazonaws.<region>.cognito-idp; a pool with a domain is not; unsigned operations must be
  allowed for all principals in the endpoint policy:
  https://docs.aws.amazon.com/cognito/latest/developerguide/vpc-interface-endpoints.html
"""

from __future__ import annotations

from typing import Any

import pytest
from constructs.three_tier_vpc import COGNITO_SIGN_IN_ACTIONS

from stacks import config as cfg
from tests.conftest import Synthesized, resources_of

pytestmark = pytest.mark.requirements("R2", "R3", "R9")

USER_POOL_ID = "IdentityUserPool96FE3B9B"


def _one(template: Any, resource_type: str) -> tuple[str, dict[str, Any]]:
    found = resources_of(template, resource_type)
    assert len(found) == 1, f"{resource_type}: {list(found)}"
    return next(iter(found.items()))


def test_in_the_primary_region_stateful(synth: Synthesized, environment: str) -> None:
    stack = synth.stack(environment, "identity")
    assert stack.region == "eu-central-1"
    assert stack.termination_protection is (environment == "production")


def test_user_pool_logical_id_is_pinned(synth: Synthesized, environment: str) -> None:
    """Users and their TOTP secrets cannot be restored: a renamed pool is a new, empty pool."""
    lid, _ = _one(synth.template(environment, "identity"), "AWS::Cognito::UserPool")
    assert lid == USER_POOL_ID


def test_deletion_protection_and_retention_per_environment(synth: Synthesized) -> None:
    """Production: deletion protection ACTIVE and RETAIN; sandbox: INACTIVE and DELETE, so the
    teardown's stack deletion can remove it (DeleteUserPool fails while protection is ACTIVE)."""
    _, production = _one(synth.template("production", "identity"), "AWS::Cognito::UserPool")
    _, sandbox = _one(synth.template("sandbox", "identity"), "AWS::Cognito::UserPool")
    assert (production["Properties"]["DeletionProtection"], production["DeletionPolicy"]) == ("ACTIVE", "Retain")
    assert (sandbox["Properties"]["DeletionProtection"], sandbox["DeletionPolicy"]) == ("INACTIVE", "Delete")


def test_plan_and_tokens_from_config(synth: Synthesized, environment: str) -> None:
    identity = cfg.load(environment, None).identity
    template = synth.template(environment, "identity")
    _, pool = _one(template, "AWS::Cognito::UserPool")
    assert pool["Properties"]["UserPoolTier"] == identity.feature_plan
    assert pool["Properties"]["UserPoolAddOns"] == {
        "AdvancedSecurityMode": {"FULL_FUNCTION": "ENFORCED", "AUDIT_ONLY": "AUDIT"}[identity.threat_protection]
    }
    assert pool["Properties"]["Policies"]["PasswordPolicy"]["MinimumLength"] == identity.password_min_length
    _, client = _one(template, "AWS::Cognito::UserPoolClient")
    props = client["Properties"]
    assert (props["AccessTokenValidity"], props["IdTokenValidity"]) == (identity.access_token_minutes, identity.id_token_minutes)
    assert props["TokenValidityUnits"]["RefreshToken"] == "minutes"
    assert props["RefreshTokenValidity"] == identity.refresh_token_hours * 60
    assert props["GenerateSecret"] is False


def test_web_acl_associated_with_this_pool(synth: Synthesized, environment: str) -> None:
    config = cfg.load(environment, None)
    template = synth.template(environment, "identity")
    acl_id, acl = _one(template, "AWS::WAFv2::WebACL")
    assert acl["Properties"]["Scope"] == "REGIONAL"
    _, association = _one(template, "AWS::WAFv2::WebACLAssociation")
    assert association["Properties"] == {"ResourceArn": {"Fn::GetAtt": [USER_POOL_ID, "Arn"]}, "WebACLArn": {"Fn::GetAtt": [acl_id, "Arn"]}}
    _, ip_set = _one(template, "AWS::WAFv2::IPSet")
    assert ip_set["Properties"]["Addresses"] == [config.network.vpc_cidr]
    limits = {r["Name"]: r["Statement"]["RateBasedStatement"]["Limit"] for r in acl["Properties"]["Rules"] if "RateBasedStatement" in r["Statement"]}
    assert limits == {"PublicAuthRateLimit": config.identity.auth_rate_limit, "ServiceAuthRateLimit": config.identity.service_auth_rate_limit}
    _, logging = _one(template, "AWS::WAFv2::LoggingConfiguration")
    assert logging["Properties"]["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}


def test_no_user_pool_domain_anywhere(synth: Synthesized, environment: str) -> None:
    """A domain on the pool makes every request through the interface endpoint fail ("User pools with
    domains assigned are incompatible with AWS PrivateLink"), so the service could not sign anyone in."""
    templates = list((synth.outdir / f"assembly-{synth.stages[environment].stage_name}").glob("*.template.json"))
    assert any("Identity" in t.name for t in templates)
    domains = [t.name for t in templates if "AWS::Cognito::UserPoolDomain" in t.read_text()]
    assert domains == []


def test_outputs_for_the_service_wiring(synth: Synthesized, environment: str) -> None:
    outputs = synth.template(environment, "identity").to_json()["Outputs"]
    client_id, _ = _one(synth.template(environment, "identity"), "AWS::Cognito::UserPoolClient")
    assert outputs["UserPoolId"]["Value"] == {"Ref": USER_POOL_ID}
    assert outputs["UserPoolClientId"]["Value"] == {"Ref": client_id}


def _cognito_endpoint(synth: Synthesized, environment: str) -> dict[str, Any]:
    endpoints = resources_of(synth.template(environment, "network"), "AWS::EC2::VPCEndpoint")
    found = [e["Properties"] for e in endpoints.values() if str(e["Properties"]["ServiceName"]).endswith(".cognito-idp")]
    assert len(found) == 1
    result: dict[str, Any] = found[0]
    return result


def test_service_reaches_the_pool_api_and_jwks_through_the_interface_endpoint(synth: Synthesized, environment: str) -> None:
    """InitiateAuth and the JWKS GET both go to https://cognito-idp.eu-central-1.amazonaws.com; with
    private DNS that name resolves to the endpoint's interfaces in the app subnets, whose security
    group the app tier may reach on 443 (tests/stacks/test_egress.py holds the full table)."""
    endpoint = _cognito_endpoint(synth, environment)
    assert endpoint["ServiceName"] == "com.amazonaws.eu-central-1.cognito-idp"
    assert endpoint["PrivateDnsEnabled"] is True
    assert endpoint["SecurityGroupIds"] == [{"Fn::GetAtt": ["NetworkEndpointSecurityGroup6DEF6240", "GroupId"]}]
    assert len(endpoint["SubnetIds"]) == cfg.load(environment, None).network.interface_endpoint_azs


def test_endpoint_policy_admits_the_unsigned_sign_in_operations_on_our_pools_only(synth: Synthesized, environment: str) -> None:
    """Unsigned operations (InitiateAuth, RespondToAuthChallenge, ...) carry no principal, so the
    account-scoped statement alone would refuse them; the extra statement names the actions and
    this account's user pools, nothing else."""
    statements = {s["Sid"]: s for s in _cognito_endpoint(synth, environment)["PolicyDocument"]["Statement"]}
    assert set(statements) == {"OnlyThisAccount", "CognitoSignInOperations"}
    sign_in = statements["CognitoSignInOperations"]
    assert sign_in["Effect"] == "Allow" and sign_in["Principal"] == {"AWS": "*"} and "Condition" not in sign_in
    assert sorted(sign_in["Action"]) == sorted(COGNITO_SIGN_IN_ACTIONS)
    assert not [a for a in sign_in["Action"] if a.split(":")[1].startswith(("Admin", "Create", "Delete", "Update", "List", "SignUp"))]
    assert sign_in["Resource"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":cognito-idp:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}, ":userpool/*"]]
    }
