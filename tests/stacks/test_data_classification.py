"""The data-class=phi tag is on every resource the tag-based denies are meant to cover (issue 15 item 4).

The denies that key on it: the SCP ``protect_phi_storage`` (``aws:ResourceTag`` on buckets), the
permission sets' ``DenyPhiObjectsByBucketTag`` / ``DenyPhiObjectsByObjectTag`` / ``DenyPhiSecrets``
and the custom Config rule over PHI-tagged buckets. A deny that matches nothing protects nothing,
so every synthesized template of both environments is walked and each resource that holds or
opens PHI must carry the tag -- and nothing else may, so the Config rule is not fed buckets that
were never meant to be PHI buckets.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from constructs.data_classification import PHI_TAG_KEY, PHI_TAG_VALUE
from constructs.permission_sets import deny_phi_data_plane
from constructs.service_control_policies import scp_documents

from stacks.config.organization import organization
from stacks.organization_stack import phi_markers, scp_settings
from tests.conftest import Synthesized, resources_of

pytestmark = pytest.mark.requirements("R3", "R7", "R10")

STACKS = ("keys", "network", "data", "app", "audit", "edge_global", "edge", "dr_vault", "backup", "observability")


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    tags = resource.get("Properties", {}).get("Tags", [])
    if isinstance(tags, dict):  # a few types (e.g. none here today) use a map
        return {str(k): str(v) for k, v in tags.items()}
    return {t["Key"]: t["Value"] for t in tags}


def _uses_data_key(value: Any) -> bool:
    """The data key reaches other stacks as a cross-stack reference naming the Keys stack's DataKey."""
    text = json.dumps(value)
    return "DataKey" in text and "DrBackupKey" not in text


def _phi_resources(synth: Synthesized, environment: str) -> dict[tuple[str, str], str]:
    """(stack, logical ID) -> why it must be PHI-tagged, from what each resource is."""
    stage = synth.stages[environment]
    expected: dict[tuple[str, str], str] = {}
    for name in STACKS:
        template = synth.template(environment, name).to_json()["Resources"]
        for lid, resource in template.items():
            kind, props = resource["Type"], resource.get("Properties", {})
            if kind == "AWS::S3::Bucket":
                sse = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [{}])[0]
                if _uses_data_key(sse.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")):
                    expected[(name, lid)] = "bucket under the data key (PHI or quarantine)"
            elif kind == "AWS::SecretsManager::Secret" and name == "data" and _uses_data_key(props.get("KmsKeyId")):
                # The data tier's secrets open the PHI stores; the app's origin secret (also under the
                # data key) guards the ALB and is not PHI.
                expected[(name, lid)] = "secret under the data key (database master secret, cache AUTH token)"
            elif kind in ("AWS::RDS::DBCluster", "AWS::RDS::DBInstance"):
                expected[(name, lid)] = "the Aurora cluster holding patient records"
            elif kind == "AWS::KMS::Key" and lid.startswith(("DataKey", "BackupKey", "DrBackupKey")):
                expected[(name, lid)] = "a key that decrypts PHI (data, backup, DR backup)"
    assert stage.audit is not None
    return expected


def test_every_phi_resource_carries_the_tag_and_nothing_else_does(synth: Synthesized, environment: str) -> None:
    expected = _phi_resources(synth, environment)
    # What the walk must find, so it cannot pass by finding nothing: 2 PHI buckets + quarantine,
    # 2 secrets, the cluster + 2 instances, 3 keys.
    kinds = sorted(why for why in expected.values())
    assert kinds.count("bucket under the data key (PHI or quarantine)") == 3
    assert kinds.count("secret under the data key (database master secret, cache AUTH token)") == 2
    assert kinds.count("the Aurora cluster holding patient records") == 3
    assert kinds.count("a key that decrypts PHI (data, backup, DR backup)") == 3
    missing, extra = [], []
    for name in STACKS:
        for lid, resource in synth.template(environment, name).to_json()["Resources"].items():
            tagged = _tags(resource).get(PHI_TAG_KEY) == PHI_TAG_VALUE
            if (name, lid) in expected and not tagged:
                missing.append(f"{name}/{lid}: {expected[(name, lid)]}")
            if tagged and (name, lid) not in expected and resource["Type"] != "AWS::SecretsManager::RotationSchedule":
                extra.append(f"{name}/{lid} ({resource['Type']})")
    assert not missing, f"untagged PHI resources (the tag-based denies miss them): {missing}"
    assert not extra, f"tagged data-class=phi but not a PHI resource: {extra}"


def test_phi_tagged_buckets_have_s3_abac_on(synth: Synthesized, environment: str) -> None:
    """S3 evaluates ``aws:ResourceTag`` on a general purpose bucket only with ABAC enabled ("By
    default, ABAC is disabled for all Amazon S3 general purpose buckets. To use ABAC for general
    purpose buckets, you must enable it": https://docs.aws.amazon.com/AmazonS3/latest/userguide/buckets-tagging-enable-abac.html).
    With ABAC on, tags change through s3:TagResource, which CloudFormation's AWS::S3::Bucket create
    and update handlers hold (resource schema, cfn-lint's copy; PutBucketAbac API reference)."""
    for (name, lid), _ in _phi_resources(synth, environment).items():
        resource = synth.template(environment, name).to_json()["Resources"][lid]
        if resource["Type"] == "AWS::S3::Bucket":
            assert resource["Properties"].get("AbacStatus") == "Enabled", f"{name}/{lid}"


def test_the_denies_key_on_the_one_tag() -> None:
    """The SCPs and permission sets read the same key/value the resources are tagged with."""
    org = organization()
    assert (org.phi_tag_key, org.phi_tag_value) == (PHI_TAG_KEY, PHI_TAG_VALUE)
    scps = json.dumps([doc.document for doc in scp_documents(scp_settings(org), ["arn:aws:iam::*:role/bg"]).values()])
    assert f'"aws:ResourceTag/{PHI_TAG_KEY}": "{PHI_TAG_VALUE}"' in scps
    denies = json.dumps(deny_phi_data_plane(phi_markers(org)))
    assert f'"s3:ExistingObjectTag/{PHI_TAG_KEY}": "{PHI_TAG_VALUE}"' in denies
    assert f'"aws:ResourceTag/{PHI_TAG_KEY}": "{PHI_TAG_VALUE}"' in denies


def test_the_phi_bucket_rule_is_told_the_one_tag(synth: Synthesized, environment: str) -> None:
    """lambda/mv_phi_bucket_rule is packaged alone and cannot import the constants; the rule passes them."""
    rules = resources_of(synth.template(environment, "audit"), "AWS::Config::ConfigRule").values()
    [rule] = [r for r in rules if r["Properties"].get("ConfigRuleName") == "medivault-phi-bucket-lock"]
    parameters = rule["Properties"]["InputParameters"]
    assert (parameters["tagKey"], parameters["tagValue"]) == (PHI_TAG_KEY, PHI_TAG_VALUE)
