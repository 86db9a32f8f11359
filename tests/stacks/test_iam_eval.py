"""The policy evaluator the organisation tests rely on follows IAM's rules where they matter."""

from __future__ import annotations

import pytest

from tests.stacks.iam_eval import evaluate, evaluate_resource_policy

pytestmark = pytest.mark.requirements("R3")


def _deny(condition: dict[str, dict[str, object]], **extra: object) -> dict[str, object]:
    return {"Statement": [{"Sid": "D", "Effect": "Deny", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*", "Condition": condition, **extra}]}


def test_wildcards_and_explicit_deny_wins() -> None:
    policy = {
        "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Sid": "D", "Effect": "Deny", "Action": "s3:GetObject*", "Resource": "arn:aws:s3:::*phi*/*"},
        ]
    }
    assert evaluate(policy, "s3:GetObjectVersion", "arn:aws:s3:::x-phi-y/k") == "Deny"
    assert evaluate(policy, "s3:GetObject", "arn:aws:s3:::logs/k") == "Allow"
    assert evaluate(policy, "ec2:RunInstances", "*") == "Implicit"


def test_negated_operators_match_when_the_key_is_absent() -> None:
    policy = _deny({"StringNotEquals": {"aws:RequestedRegion": ["eu-central-1"]}})
    assert evaluate(policy, "s3:GetObject", "arn:aws:s3:::b/k", {}) == "Deny"
    assert evaluate(policy, "s3:GetObject", "arn:aws:s3:::b/k", {"aws:RequestedRegion": "eu-central-1"}) == "Implicit"
    positive = _deny({"StringEquals": {"aws:ResourceTag/data-class": "phi"}})
    assert evaluate(positive, "s3:GetObject", "arn:aws:s3:::b/k", {}) == "Implicit"


def test_not_action_not_resource_and_null() -> None:
    policy = {"Statement": [{"Sid": "D", "Effect": "Deny", "NotAction": ["iam:*"], "NotResource": ["arn:aws:s3:::ok-*"]}]}
    assert evaluate(policy, "s3:CreateBucket", "arn:aws:s3:::bad") == "Deny"
    assert evaluate(policy, "s3:CreateBucket", "arn:aws:s3:::ok-1") == "Implicit"
    assert evaluate(policy, "iam:CreateRole", "arn:aws:s3:::bad") == "Implicit"
    null = {
        "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*", "Condition": {"Null": {"sts:SourceIdentity": "false"}}}
        ]
    }
    assert evaluate(null, "sts:AssumeRole", "*", {"sts:SourceIdentity": "alice"}) == "Allow"
    assert evaluate(null, "sts:AssumeRole", "*", {}) == "Implicit"


def test_unknown_operator_is_refused() -> None:
    with pytest.raises(NotImplementedError, match="IpAddress"):
        evaluate(_deny({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), "s3:GetObject", "arn:aws:s3:::b/k", {"aws:SourceIp": "10.1.1.1"})


def test_for_any_value_string_equals_matches_one_of_a_multi_valued_key() -> None:
    """ForAnyValue:StringEquals matches when any value of a multi-valued key (kms:ResourceAliases)
    equals any listed value, and not when the key is absent or empty
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html)."""
    policy = {
        "Statement": [
            {
                "Sid": "A",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/a", "alias/b"]}},
            }
        ]
    }
    assert evaluate(policy, "kms:Decrypt", "k", {"kms:ResourceAliases": ["alias/x", "alias/b"]}) == "Allow"
    assert evaluate(policy, "kms:Decrypt", "k", {"kms:ResourceAliases": ["alias/a*"]}) == "Implicit"  # equality, not a pattern
    assert evaluate(policy, "kms:Decrypt", "k", {"kms:ResourceAliases": []}) == "Implicit"
    assert evaluate(policy, "kms:Decrypt", "k", {}) == "Implicit"


def _key_policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"Statement": [{"Effect": "Allow", "Resource": "*", **s} for s in statements]}


def test_principals_account_root_service_and_star() -> None:
    policy = _key_policy(
        {"Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:Decrypt"},
        {"Principal": {"Service": "logs.eu-central-1.amazonaws.com"}, "Action": "kms:GenerateDataKey*"},
    )
    role = {"AWS": "arn:aws:iam::111122223333:role/app"}
    assert evaluate_resource_policy(policy, role, "kms:Decrypt") == "Allow"
    assert evaluate_resource_policy(policy, {"AWS": "arn:aws:iam::444455556666:role/app"}, "kms:Decrypt") == "Implicit"
    assert evaluate_resource_policy(policy, {"Service": "logs.eu-central-1.amazonaws.com"}, "kms:GenerateDataKey") == "Allow"
    assert evaluate_resource_policy(policy, {"Service": "events.amazonaws.com"}, "kms:GenerateDataKey") == "Implicit"
    assert evaluate_resource_policy(policy, {"Service": "logs.eu-central-1.amazonaws.com"}, "kms:Decrypt") == "Implicit"
    deny_all = {"Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"}]}
    assert evaluate_resource_policy(deny_all, {"Service": "cloudtrail.amazonaws.com"}, "s3:PutObject") == "Deny"


def test_bool_arn_equals_numeric_and_if_exists() -> None:
    grant = _key_policy(
        {"Principal": {"AWS": "111122223333"}, "Action": "kms:CreateGrant", "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}
    )
    role = {"AWS": "arn:aws:iam::111122223333:role/x"}
    assert evaluate_resource_policy(grant, role, "kms:CreateGrant", context={"kms:GrantIsForAWSResource": "true"}) == "Allow"
    assert evaluate_resource_policy(grant, role, "kms:CreateGrant", context={}) == "Implicit"
    arn = _key_policy(
        {
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:events:r:1:rule/a"}},
        }
    )
    assert (
        evaluate_resource_policy(arn, {"Service": "events.amazonaws.com"}, "sqs:SendMessage", context={"aws:SourceArn": "arn:aws:events:r:1:rule/a"})
        == "Allow"
    )
    assert (
        evaluate_resource_policy(arn, {"Service": "events.amazonaws.com"}, "sqs:SendMessage", context={"aws:SourceArn": "arn:aws:events:r:1:rule/b"})
        == "Implicit"
    )
    tls = {
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}}
        ]
    }
    assert evaluate_resource_policy(tls, role, "s3:GetObject", context={"s3:TlsVersion": "1.0"}) == "Deny"
    assert evaluate_resource_policy(tls, role, "s3:GetObject", context={"s3:TlsVersion": "1.3"}) == "Implicit"
    if_exists = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": "*",
                "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
            }
        ]
    }
    assert evaluate_resource_policy(if_exists, role, "s3:PutObject", context={}) == "Deny"  # IfExists: an absent key matches
    assert evaluate_resource_policy(if_exists, role, "s3:PutObject", context={"s3:x-amz-server-side-encryption": "AES256"}) == "Deny"
    assert evaluate_resource_policy(if_exists, role, "s3:PutObject", context={"s3:x-amz-server-side-encryption": "aws:kms"}) == "Implicit"
