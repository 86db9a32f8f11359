"""Delete time: what CloudFormation cannot delete, and so what a sandbox teardown must do first.

CloudFormation deletes a bucket only when it is empty, every object version included
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/delete-bucket.html), and a backup vault only when
it holds no recovery points (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteBackupVault.html).
Object Lock in COMPLIANCE mode and a vault lock past its grace time cannot be lifted by anyone
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html#object-lock-retention-modes,
https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html): a stage that is meant to be
torn down (DeletionPolicy Delete) must use only what can be emptied.
"""

from __future__ import annotations

from tests.deploy.model import Assembly, Resource


def _deletable_stage_resources(assembly: Assembly, resource_type: str) -> list[Resource]:
    return [r for r in assembly.of_type(resource_type) if r.raw.get("DeletionPolicy", "Delete") == "Delete"]


def test_torn_down_buckets_use_no_compliance_lock(assembly: Assembly) -> None:
    buckets = _deletable_stage_resources(assembly, "AWS::S3::Bucket")
    assert buckets
    locked = [
        b.key
        for b in buckets
        if b.properties.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention", {}).get("Mode") == "COMPLIANCE"
    ]
    assert not locked, f"deleted with the stack but COMPLIANCE-locked (cannot be emptied before retention ends): {locked}"


def test_torn_down_vaults_have_no_irrevocable_lock(assembly: Assembly) -> None:
    """A vault lock with ChangeableForDays becomes compliance mode (immutable) after that grace time."""
    vaults = _deletable_stage_resources(assembly, "AWS::Backup::BackupVault")
    assert vaults
    immutable = [v.key for v in vaults if "ChangeableForDays" in v.properties.get("LockConfiguration", {})]
    assert not immutable, f"deleted with the stack but compliance-locked: {immutable}"


def teardown_wait_days(assembly: Assembly, stage: str) -> int:
    """Days after the last write before every locked object / recovery point of ``stage`` may be deleted
    (GOVERNANCE retention can be bypassed only with s3:BypassGovernanceRetention, which the teardown
    should not need)."""
    days = [0]
    for bucket in _deletable_stage_resources(assembly, "AWS::S3::Bucket"):
        if bucket.stack.stage == stage:
            days.append(int(bucket.properties.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention", {}).get("Days", 0)))
    for vault in _deletable_stage_resources(assembly, "AWS::Backup::BackupVault"):
        if vault.stack.stage == stage:
            days.append(int(vault.properties.get("LockConfiguration", {}).get("MinRetentionDays", 0)))
    return max(days)


def test_sandbox_teardown_wait_is_known(assembly: Assembly) -> None:
    """The sandbox teardown must empty the buckets (all versions) and wait out the locks: pinned here and
    stated in docs/deploy-rehearsal.md, so a longer lock in the sandbox is a decision, not a surprise."""
    assert teardown_wait_days(assembly, "Sandbox") == 1
    stateful_production = [
        r.key
        for t in ("AWS::S3::Bucket", "AWS::Backup::BackupVault", "AWS::KMS::Key", "AWS::RDS::DBCluster", "AWS::Cognito::UserPool")
        for r in assembly.of_type(t)
        if r.stack.stage == "Production" and r.raw.get("DeletionPolicy") != "Retain"
    ]
    assert not stateful_production, f"production stateful resources deleted with the stack: {stateful_production}"
