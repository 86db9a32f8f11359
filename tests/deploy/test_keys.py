"""Keys: every service that writes to, reads from or publishes into an encrypted resource is allowed
by the key policy (and the bucket / topic / queue policy) with the request it really sends.

The pairs come from the templates (tests/deploy/key_requests.py), the verdicts from the IAM evaluator
(tests/stacks/iam_eval.py), never from substrings.
"""

from __future__ import annotations

import pytest

from tests.deploy.key_requests import KINDS, PolicyRequest, log_destination_buckets
from tests.deploy.model import Assembly
from tests.stacks.iam_eval import evaluate_resource_policy

XFAIL: dict[str, str] = {}  # kind -> reason, for a known defect fixed elsewhere (strict: flips when fixed)


def verdict(assembly: Assembly, request: PolicyRequest) -> str:
    guard = request.guard
    if guard.type == "AWS::KMS::Key":
        document = guard.properties["KeyPolicy"]
    elif guard.type in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
        document = guard.properties["PolicyDocument"]
    else:
        return "Implicit"  # no resource policy: a topic or queue without one admits no service principal
    rendered = assembly.render(guard.stack, document)
    return evaluate_resource_policy(rendered, request.principal, request.action, request.resource, request.context)


def failures(assembly: Assembly, kind: str) -> tuple[int, list[str]]:
    requests = list(KINDS[kind](assembly))
    bad = []
    for request in requests:
        result = verdict(assembly, request)
        ok = result == "Allow" if request.needs == "Allow" else result != "Deny"
        if not ok:
            bad.append(f"{result}: {request.describe()}")
    return len(requests), bad


@pytest.mark.parametrize("kind", [pytest.param(k, marks=[pytest.mark.xfail(strict=True, reason=XFAIL[k])] if k in XFAIL else []) for k in KINDS])
def test_services_are_allowed_what_they_send(assembly: Assembly, kind: str) -> None:
    """The page for each kind is in the docstring of its function in tests/deploy/key_requests.py."""
    count, bad = failures(assembly, kind)
    assert count > 0, f"{kind}: no request derived from the assembly — the derivation no longer sees its resources"
    assert not bad, f"{kind} ({KINDS[kind].__doc__}):\n" + "\n".join(bad)


PINNED_XFAIL: dict[str, str] = {}  # stack -> reason, as XFAIL
PINNED_KINDS = ("logs", "eventbridge-sns", "alarm-sns", "eventbridge-dlq", "cloudtrail", "config", "cloudfront-logs", "s3-access-logs")
OTHER_STACKS = "every-other-stack"


def _base(stack_name: str) -> str:
    return stack_name.split("-", 1)[1]


@pytest.mark.parametrize(
    "stack",
    [pytest.param(s, marks=[pytest.mark.xfail(strict=True, reason=PINNED_XFAIL[s])]) for s in PINNED_XFAIL] + [OTHER_STACKS],
)
def test_service_principals_are_pinned_to_this_account(assembly: Assembly, stack: str) -> None:
    """A service principal's statement must not serve another account (confused deputy): the same
    request for another account's resource (encryption context, aws:SourceArn, aws:SourceAccount all
    naming 999999999999) is refused. https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
    and, for keys, https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context.
    ``every-other-stack`` covers each stack not listed separately, new stacks included."""
    bad, checked = [], 0
    for kind in PINNED_KINDS:
        for request in KINDS[kind](assembly):
            base = _base(request.guard.stack.name)
            if "Service" not in request.principal or (base != stack if stack != OTHER_STACKS else base in PINNED_XFAIL):
                continue
            checked += 1
            account = request.guard.stack.account
            foreign = {k: v.replace(account, "999999999999") for k, v in request.context.items()}
            resource = request.resource.replace(account, "999999999999") if request.guard.type == "AWS::KMS::Key" else request.resource
            spoofed = PolicyRequest(request.kind, request.guard, request.principal, request.action, resource, foreign, request.writer)
            if verdict(assembly, spoofed) == "Allow":
                bad.append(spoofed.describe())
    assert checked, f"{stack}: no service-principal request to check"
    assert not bad, "\n".join(bad)


def test_keys_admit_no_direct_use_and_no_grants_for_anything(assembly: Assembly) -> None:
    """Issue 15 item 4: a principal of the account with IAM rights on the key can administer it (the
    named admin actions) but neither decrypt directly nor create a grant outside the named services:
    CreateGrant needs kms:ViaService of a named service *and* kms:GrantIsForAWSResource.
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html and
    https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource"""
    keys = assembly.of_type("AWS::KMS::Key")
    assert keys
    for key in keys:
        policy = assembly.render(key.stack, key.properties["KeyPolicy"])
        role = {"AWS": f"arn:aws:iam::{key.stack.account}:role/any-admin"}
        own = {"kms:CallerAccount": key.stack.account}
        for action in ("kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom"):
            assert evaluate_resource_policy(policy, role, action, "*", own) != "Allow", f"{key.key}: {action} without a service"
        for statement in policy["Statement"]:
            if "kms:CreateGrant" in statement["Action"] and "Service" not in statement["Principal"]:
                via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService", [])
                for service in [via] if isinstance(via, str) else via:
                    ctx = {**own, "kms:ViaService": service}
                    assert evaluate_resource_policy(policy, role, "kms:CreateGrant", "*", ctx) != "Allow", f"{key.key}: grant not for an AWS resource"
                    assert evaluate_resource_policy(policy, role, "kms:CreateGrant", "*", {**ctx, "kms:GrantIsForAWSResource": "true"}) == "Allow"
        for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CreateAlias", "kms:EnableKeyRotation", "kms:TagResource"):
            assert evaluate_resource_policy(policy, role, action, "*", own) == "Allow", f"{key.key}: admins lost {action}"


def test_log_delivery_buckets_use_sse_s3(assembly: Assembly) -> None:
    """S3 server access logs and ALB access logs can only be delivered to buckets whose default
    encryption is SSE-S3 (AES256), not SSE-KMS:
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html and
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html#access-log-create-bucket"""
    destinations = list(log_destination_buckets(assembly))
    assert destinations
    for kind, bucket in destinations:
        rules = bucket.properties.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        algorithms = {r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules} or {"AES256"}
        assert algorithms == {"AES256"}, f"{kind}: {bucket.key} is encrypted with {algorithms}"
