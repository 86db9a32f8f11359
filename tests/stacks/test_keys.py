"""Customer-managed keys and the stable identity of stateful resources."""

from __future__ import annotations

import pytest

from tests.conftest import CONCRETE_ACCOUNTS, Synthesized, resources_of

pytestmark = pytest.mark.requirements("R6", "R7", "R12", "R15")

# Renaming any of these replaces a key (and with it, access to everything it encrypted).
PINNED_KEYS = {
    "DataKey2A0DE9E6": "data",
    "LogsKeyFE4C4A83": "logs",
    "BackupKey1226E6A1": "backup",
}


def test_keys_rotate_and_have_aliases(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "keys")
    keys = resources_of(template, "AWS::KMS::Key")
    assert len(keys) == 3
    assert all(k["Properties"]["EnableKeyRotation"] is True for k in keys.values())
    aliases = {a["Properties"]["AliasName"] for a in resources_of(template, "AWS::KMS::Alias").values()}
    assert aliases == {f"alias/medivault/{environment}/{p}" for p in ("data", "logs", "backup")}


def test_key_logical_ids_are_pinned(synth: Synthesized, environment: str) -> None:
    keys = resources_of(synth.template(environment, "keys"), "AWS::KMS::Key")
    assert set(keys) == set(PINNED_KEYS), f"stateful key logical IDs changed: {sorted(keys)}"


def test_keys_retained_in_production_only(synth: Synthesized) -> None:
    for lid, key in resources_of(synth.template("production", "keys"), "AWS::KMS::Key").items():
        assert key["DeletionPolicy"] == "Retain", lid
        assert key["UpdateReplacePolicy"] == "Retain", lid
    for lid, key in resources_of(synth.template("sandbox", "keys"), "AWS::KMS::Key").items():
        assert key["DeletionPolicy"] == "Delete", lid
        assert key["Properties"]["PendingWindowInDays"] == 7
    assert synth.stack("production", "keys").termination_protection is True
    assert synth.stack("sandbox", "keys").termination_protection is False


def test_data_key_usable_only_through_named_services(synth: Synthesized, environment: str) -> None:
    keys = resources_of(synth.template(environment, "keys"), "AWS::KMS::Key")
    statements = keys["DataKey2A0DE9E6"]["Properties"]["KeyPolicy"]["Statement"]
    by_sid = {s["Sid"]: s for s in statements if "Sid" in s}
    admin_actions = by_sid["AccountAdministersKey"]["Action"]
    assert "kms:Decrypt" not in admin_actions and "kms:*" not in admin_actions
    via = by_sid["UseOnlyThroughNamedServices"]["Condition"]["StringEquals"]["kms:ViaService"]
    assert sorted(via) == sorted(f"{s}.eu-central-1.amazonaws.com" for s in ("s3", "rds", "elasticache", "secretsmanager", "backup", "sqs"))
    # No statement grants a cryptographic operation without a kms:ViaService condition (CDK adds
    # its own, e.g. for Secrets Manager secrets, and those must be scoped the same way).
    crypto = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:*"}
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if crypto & set(actions):
            assert "kms:ViaService" in statement["Condition"]["StringEquals"], statement


def test_logs_key_lets_cloudwatch_logs_in_for_this_account_only(synth: Synthesized, environment: str) -> None:
    keys = resources_of(synth.template(environment, "keys"), "AWS::KMS::Key")
    statements = keys["LogsKeyFE4C4A83"]["Properties"]["KeyPolicy"]["Statement"]
    [logs_use] = [s for s in statements if s.get("Principal") == {"Service": "logs.eu-central-1.amazonaws.com"}]
    account = CONCRETE_ACCOUNTS[environment]
    assert logs_use["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:eu-central-1:{account}:log-group:*"}}
