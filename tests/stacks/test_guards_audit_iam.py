"""Least privilege of the audit functions and who may invoke functions (issue 19, "Tests that catch bugs").

Each of these could be widened without any test noticing: the Macie quarantine role's object
statement or sns:Publish widened to ``*``, its data-key statement losing kms:ViaService, or the
Config-to-Lambda permission of the custom rule accepting any account (confused deputy: without
aws:SourceAccount another account's Config rule could invoke our function; AWS Lambda Developer
Guide, "Working with resource-based IAM policies in Lambda",
https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html, and the AWS
Config guide's "Permissions for AWS Lambda functions" for custom rules). Every value is asserted
exactly on the production stage (tests/stacks/guard_stage.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import CONCRETE_ACCOUNTS
from tests.stacks.guard_stage import as_list, resources, role_statements, templates

pytestmark = pytest.mark.requirements("R3", "R11", "R14")

ACCOUNT = CONCRETE_ACCOUNTS["production"]
REGION = "eu-central-1"
# What MediVaultFunction gives every function role on "*": ENI housekeeping and X-Ray (no resource-level permissions).
FUNCTION_BASELINE_ON_STAR = {"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}


def _audit() -> dict[str, Any]:
    return templates("production")["Audit"]


def _function_with_env(template: dict[str, Any], variable: str) -> dict[str, Any]:
    [fn] = [
        f for f in resources(template, "AWS::Lambda::Function").values() if variable in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    return fn["Properties"]


def _quarantine() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    fn = _function_with_env(_audit(), "QUARANTINE_BUCKET")
    role = fn["Role"]["Fn::GetAtt"][0]
    return fn, role_statements(_audit(), role)


def _allows(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [s for s in statements if s["Effect"] == "Allow" and action in as_list(s["Action"])]


def _security_topic() -> dict[str, str]:
    [lid] = [lid for lid, t in resources(_audit(), "AWS::SNS::Topic").items() if t["Properties"]["DisplayName"] == "MediVault production security"]
    return {"Ref": lid}


def test_quarantine_reads_and_deletes_flagged_objects_of_this_account_only() -> None:
    _, statements = _quarantine()
    [source] = _allows(statements, "s3:DeleteObjectVersion")
    assert source == {
        "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject", "s3:GetObjectVersion"],
        "Condition": {"StringEquals": {"s3:ResourceAccount": ACCOUNT}},
        "Effect": "Allow",
        "Resource": "arn:aws:s3:::*/*",
    }


def test_quarantine_writes_only_into_the_quarantine_bucket() -> None:
    fn, statements = _quarantine()
    bucket = fn["Environment"]["Variables"]["QUARANTINE_BUCKET"]["Ref"]
    [write] = _allows(statements, "s3:PutObject")
    assert write["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/*"]]}
    assert sorted(as_list(write["Action"])) == [
        "s3:AbortMultipartUpload",
        "s3:GetObject",
        "s3:GetObjectTagging",
        "s3:PutObject",
        "s3:PutObjectTagging",
    ]
    [deny] = [s for s in statements if s["Effect"] == "Deny" and "s3:BypassGovernanceRetention" in as_list(s["Action"])]
    assert deny["Resource"] == write["Resource"]
    assert sorted(as_list(deny["Action"])) == ["s3:BypassGovernanceRetention", "s3:DeleteObject*", "s3:PutObjectLegalHold", "s3:PutObjectRetention"]


def test_quarantine_lists_this_account_s_buckets_only() -> None:
    _, statements = _quarantine()
    [listing] = _allows(statements, "s3:ListBucket")
    assert listing["Resource"] == "arn:aws:s3:::*"
    assert listing["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}


def test_quarantine_uses_the_data_key_through_s3_only() -> None:
    _, statements = _quarantine()
    data_key_use = [s for s in _allows(statements, "kms:Decrypt") if "DataKey" in str(s["Resource"])]
    assert len(data_key_use) == 1
    assert data_key_use[0]["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
    [deny] = [s for s in statements if s["Effect"] == "Deny" and as_list(s["Action"]) == ["kms:Decrypt"]]
    assert "kms:EncryptionContext:aws:s3:arn" in deny["Condition"]["StringLike"]


@pytest.mark.parametrize("variable", ["QUARANTINE_BUCKET", "TABLE_NAME"])
def test_audit_functions_publish_to_the_security_topic_only_and_nothing_else_on_star(variable: str) -> None:
    fn = _function_with_env(_audit(), variable)
    statements = role_statements(_audit(), fn["Role"]["Fn::GetAtt"][0])
    [publish] = _allows(statements, "sns:Publish")
    assert as_list(publish["Action"]) == ["sns:Publish"]
    assert publish["Resource"] == _security_topic()
    on_star = {a for s in statements if s["Effect"] == "Allow" and "*" in as_list(s["Resource"]) for a in as_list(s["Action"])}
    assert on_star == FUNCTION_BASELINE_ON_STAR


def test_no_identity_policy_of_the_stage_publishes_to_any_topic() -> None:
    for name, template in templates("production").items():
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for policy in resources(template, kind).values():
                for statement in as_list(policy["Properties"]["PolicyDocument"]["Statement"]):
                    if any(a.startswith("sns:") or a == "*" for a in as_list(statement["Action"])):
                        for resource in as_list(statement["Resource"]):
                            assert isinstance(resource, dict) and set(resource) == {"Ref"}, (name, statement)


def test_config_invokes_the_custom_rule_only_from_this_account_s_rules() -> None:
    [permission] = [
        p["Properties"] for p in resources(_audit(), "AWS::Lambda::Permission").values() if p["Properties"]["Principal"] == "config.amazonaws.com"
    ]
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["SourceAccount"] == ACCOUNT
    assert permission["SourceArn"] == f"arn:aws:config:{REGION}:{ACCOUNT}:config-rule/*"


def test_every_service_principal_permission_is_pinned_to_a_source() -> None:
    """EventBridge rules are pinned by their own rule ARN; every other service by account and ARN."""
    seen = 0
    for name, template in templates("production").items():
        for permission in resources(template, "AWS::Lambda::Permission").values():
            p = permission["Properties"]
            seen += 1
            assert p["Action"] == "lambda:InvokeFunction", (name, p)
            if p["Principal"] == "events.amazonaws.com":
                assert set(p["SourceArn"]) == {"Fn::GetAtt"} and p["SourceArn"]["Fn::GetAtt"][1] == "Arn", (name, p)
            else:
                assert p["SourceAccount"] == ACCOUNT and "SourceArn" in p, (name, p)
    assert seen >= 3
