"""The policy evaluator the organisation tests rely on follows IAM's rules where they matter."""

from __future__ import annotations

import pytest

from tests.infra.iam_eval import evaluate

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
