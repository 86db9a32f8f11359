"""Disaster-recovery vault in eu-west-1 (R1, R15): its own KMS key and a locked backup vault.

Holds only copies made by the primary backup plan; no live traffic and no other data in Ireland.
Stateful: retained and termination-protected in production.
"""

from __future__ import annotations

from constructs import Construct
from constructs.data_classification import tag_phi
from constructs.locked_vault import LockedVault
from constructs.purpose_key import PurposeKey
from constructs.traceability import trace

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig


class DrVaultStack(MediVaultStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=config.dr_region,
            description="disaster-recovery backup vault (eu-west-1): own KMS key, Vault Lock, no deletion of recovery points",
            stateful=True,
            # The primary backup plan (eu-central-1) reads this vault's ARN across regions.
            cross_region_references=True,
        )
        # AWS Backup (and RDS / S3 acting for it) encrypt the copies; nobody may use the key directly.
        self.key = PurposeKey(
            self,
            "DrBackupKey",
            purpose="disaster-recovery backup",
            alias=f"alias/medivault/{config.name}/dr-backup",
            via_services=["backup", "rds", "s3"],
            removal_policy=config.removal_policy,
        ).key
        tag_phi(self.key)  # it decrypts the PHI recovery-point copies
        locked = LockedVault(
            self,
            "DrVault",
            vault_name=f"medivault-{config.name}-dr",
            key=self.key,
            min_retention_days=config.backup.vault_lock_min_retention_days,
            max_retention_days=config.backup.vault_lock_max_retention_days,
            changeable_for_days=config.backup.vault_lock_changeable_for_days,
            removal_policy=config.removal_policy,
            teardown_principal_arns=[f"arn:{self.partition}:iam::{self.account}:{p}" for p in config.backup.teardown_principals],
        )
        self.vault = locked.vault
        trace(
            self.vault,
            ["R1", "R15"],
            ["reliability", "security"],
            "Copies of every backup in eu-west-1 under their own key, locked against deletion, so the loss of Frankfurt loses no data.",
        )
        trace(
            self.vault,
            ["R15"],
            ["sustainability", "cost-optimisation"],
            "The DR region holds backup copies only, no standby stack: nothing idles in eu-west-1 until a restore.",
        )
        trace(
            self.key,
            ["R15"],
            ["security"],
            "DR copies are encrypted with a rotated key of the DR region, usable only through AWS Backup, RDS and S3.",
        )
