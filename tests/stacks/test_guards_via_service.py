"""Every kms:ViaService condition of a stage, asserted exactly (issue 19, "Tests that catch bugs").

kms:ViaService limits a key's use to requests that an AWS service makes on the caller's behalf
(AWS KMS Developer Guide, "kms:ViaService",
https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service):
dropped, a leaked role could decrypt PHI with direct KMS calls. The table below is every such
condition in the production stage: key policies (both the use and the grant statement of each
PurposeKey, with kms:CallerAccount) and identity policies (by statement Sid). A removed condition
changes the count, a changed service the value.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.conftest import CONCRETE_ACCOUNTS
from tests.stacks.guard_stage import as_list, resources, templates

pytestmark = pytest.mark.requirements("R6", "R7", "R10")

ACCOUNT = CONCRETE_ACCOUNTS["production"]


def _services(names: str, region: str = "eu-central-1") -> tuple[str, ...]:
    return tuple(sorted(f"{n}.{region}.amazonaws.com" for n in names.split()))


# (stack, key logical ID) -> the services through which the account may use the key.
KEY_POLICIES = {
    ("Keys", "DataKey2A0DE9E6"): _services("s3 rds elasticache secretsmanager backup sqs"),
    ("Keys", "LogsKeyFE4C4A83"): _services("logs"),
    ("Keys", "BackupKey1226E6A1"): _services("backup rds s3"),
    ("EdgeGlobal", "EdgeLogsKey8C2ECF96"): _services("logs", "us-east-1"),
    ("Edge", "AccessLogsKey93D4C843"): _services("s3"),
    ("Audit", "AuditKey55555D67"): _services("s3 sns dynamodb sqs"),
    ("DrVault", "DrBackupKey5666D20F"): _services("backup rds s3", "eu-west-1"),
    ("Backup", "NotificationsKeyDB5F2700"): _services("sns sqs"),
    ("Observability", "AlertsKey9DF6A94D"): _services("sns"),
}
# (stack, Sid or "-" for none, service) -> how many identity-policy statements carry it.
IDENTITY_POLICIES = Counter(
    {
        ("Data", "SecretKeyViaSecretsManager", "secretsmanager.eu-central-1.amazonaws.com"): 1,  # Redis AUTH token rotation
        ("App", "SecretKeyViaSecretsManager", "secretsmanager.eu-central-1.amazonaws.com"): 1,  # origin header rotation
        ("App", "MasterSecretKey", "secretsmanager.eu-central-1.amazonaws.com"): 1,  # database migration task
        ("App", "DecryptInjectedSecrets", "secretsmanager.eu-central-1.amazonaws.com"): 1,  # ECS agent injects the Redis token
        ("Audit", "-", "s3.eu-central-1.amazonaws.com"): 1,  # Macie quarantine: the data key through S3 only
        ("App", "DataKey", "s3.eu-central-1.amazonaws.com"): 1,  # records service: SSE-KMS objects through S3 only
    }
)


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(policy["PolicyDocument"]["Statement"])


def test_every_key_policy_names_exactly_its_services() -> None:
    found = {}
    for stack, template in templates("production").items():
        for lid, key in resources(template, "AWS::KMS::Key").items():
            by_sid = {s.get("Sid"): s for s in as_list(key["Properties"]["KeyPolicy"]["Statement"])}
            use = by_sid["UseOnlyThroughNamedServices"]
            grant = by_sid["GrantsOnlyForAwsResourcesOfNamedServices"]
            assert use["Condition"] == {
                "StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": use["Condition"]["StringEquals"]["kms:ViaService"]}
            }
            assert grant["Condition"] == {"StringEquals": use["Condition"]["StringEquals"], "Bool": {"kms:GrantIsForAWSResource": "true"}}
            assert as_list(grant["Action"]) == ["kms:CreateGrant"]
            found[(stack, lid)] = tuple(sorted(as_list(use["Condition"]["StringEquals"]["kms:ViaService"])))
    assert found == KEY_POLICIES


def test_every_via_service_condition_of_an_identity_policy() -> None:
    found: Counter[tuple[str, str, str]] = Counter()
    for stack, template in templates("production").items():
        policies = [p["Properties"] for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") for p in resources(template, kind).values()]
        policies += [p for role in resources(template, "AWS::IAM::Role").values() for p in role["Properties"].get("Policies", [])]
        for policy in policies:
            for statement in _statements(policy):
                via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
                if via is not None:
                    for service in as_list(via):
                        found[(stack, statement.get("Sid", "-"), service)] += 1
    assert found == IDENTITY_POLICIES


@pytest.mark.parametrize(("stack", "sid"), [("Data", "SecretKeyViaSecretsManager"), ("App", "MasterSecretKey"), ("App", "DecryptInjectedSecrets")])
def test_secret_key_statements_keep_their_condition(stack: str, sid: str) -> None:
    """The named statements exist and every one of them is conditioned (a statement without it would not be counted above)."""
    statements = [
        s
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for p in resources(templates("production")[stack], kind).values()
        for s in _statements(p["Properties"])
        if s.get("Sid") == sid
    ]
    assert statements
    for s in statements:
        assert s["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-central-1.amazonaws.com"}}, s
