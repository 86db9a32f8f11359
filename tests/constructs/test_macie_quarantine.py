"""MacieQuarantine: what its role may and may not touch, and its retry path."""

from __future__ import annotations

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from constructs.alert_topic import AlertTopic
from constructs.macie_quarantine import MacieQuarantine, MacieQuarantineSettings

from tests.constructs.helpers import actions, bare_stack, function_settings, lid, resources, statements

pytestmark = pytest.mark.requirements("R11")


def test_role_never_reads_or_deletes_phi_or_evidence_and_never_unlocks_the_quarantine() -> None:
    stack = bare_stack("123456789012")
    key = kms.Key(stack, "DataKey")
    phi = s3.Bucket(stack, "Records")
    evidence = s3.Bucket(stack, "Trail")
    quarantine = s3.Bucket(stack, "QuarantineBucket")
    topic = AlertTopic(stack, "SecurityTopic", display_name="s", key=kms.Key(stack, "AuditKey"), emails=["s@example.org"])
    fn = MacieQuarantine(
        stack,
        "MacieQuarantine",
        settings=MacieQuarantineSettings(),
        function=function_settings(stack),
        quarantine_bucket=quarantine,
        data_key=key,
        topic=topic,
        phi_buckets=[phi],
        evidence_buckets=[evidence],
    )
    template = Template.from_stack(stack)
    document = resources(template, "AWS::IAM::ManagedPolicy")[lid(fn.role.grants_policy)]["Properties"]["PolicyDocument"]
    denies = [s for s in statements(document) if s["Effect"] == "Deny"]
    object_deny = next(s for s in denies if "s3:GetObject*" in actions(s))
    assert sorted(actions(object_deny)) == ["s3:DeleteObject*", "s3:GetObject*", "s3:PutObject*", "s3:RestoreObject"]
    assert str({"Fn::GetAtt": [lid(phi), "Arn"]}) in str(object_deny["Resource"]) and lid(evidence) in str(object_deny["Resource"])
    unlock = next(s for s in denies if "s3:BypassGovernanceRetention" in actions(s))
    assert lid(quarantine) in str(unlock["Resource"]) and "s3:DeleteObject*" in actions(unlock)
    kms_deny = next(s for s in denies if actions(s) == ["kms:Decrypt"])
    assert lid(phi) in str(kms_deny["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"])
    via = next(s for s in statements(document) if s["Effect"] == "Allow" and "kms:GenerateDataKey" in actions(s) and "Condition" in s)
    assert via["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}}
    source = next(s for s in statements(document) if s["Effect"] == "Allow" and "s3:DeleteObjectVersion" in actions(s))
    assert source["Condition"] == {"StringEquals": {"s3:ResourceAccount": "123456789012"}}
    [target] = resources(template, "AWS::Events::Rule")[lid(fn.rule)]["Properties"]["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [lid(fn.dead_letter_queue), "Arn"]}}
    assert len(fn.undelivered_alarms) == 2
    env = resources(template, "AWS::Lambda::Function")[lid(fn.function)]["Properties"]["Environment"]["Variables"]
    assert env["PHI_TAG"] == "data-class=phi"
