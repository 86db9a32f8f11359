"""A KMS-encrypted AWS Backup vault with Vault Lock and an access policy that denies deleting
recovery points (R15). Used for the primary vault (eu-central-1) and the DR vault (eu-west-1).

- Vault Lock: COMPLIANCE mode (``changeable_for`` set: after the cooling-off period nobody, root
  included, can shorten retention or remove the lock) or GOVERNANCE mode (no ``changeable_for``:
  a principal with backup:DeleteBackupVaultLockConfiguration may remove it; sandbox only).
  Every backup/copy whose retention is outside [min, max] is refused by the vault.
- Access policy: ``backup:DeleteRecoveryPoint`` and ``backup:UpdateRecoveryPointLifecycle`` are
  denied to every principal, so a stolen admin role cannot shorten or delete history either.
  ``teardown_principal_arns`` (sandbox only) exempts the principals that tear the environment
  down (ArnNotLike on aws:PrincipalArn); production passes none and gets the deny for everyone.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class LockedVault(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vault_name: str,
        key: kms.IKey,
        min_retention_days: int,
        max_retention_days: int,
        changeable_for_days: int | None,
        removal_policy: cdk.RemovalPolicy,
        teardown_principal_arns: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        if teardown_principal_arns and changeable_for_days is not None:
            raise ValueError("LockedVault: a COMPLIANCE-mode vault cannot be torn down; teardown principals are for GOVERNANCE vaults")
        access_policy = None
        if teardown_principal_arns:
            access_policy = iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        effect=iam.Effect.DENY,
                        principals=[iam.AnyPrincipal()],
                        actions=["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
                        resources=["*"],
                        conditions={"ArnNotLike": {"aws:PrincipalArn": list(teardown_principal_arns)}},
                    )
                ]
            )
        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=vault_name,
            encryption_key=key,
            block_recovery_point_deletion=not teardown_principal_arns,
            access_policy=access_policy,
            lock_configuration=backup.LockConfiguration(
                min_retention=cdk.Duration.days(min_retention_days),
                max_retention=cdk.Duration.days(max_retention_days),
                changeable_for=cdk.Duration.days(changeable_for_days) if changeable_for_days is not None else None,
            ),
            removal_policy=removal_policy,
        )
