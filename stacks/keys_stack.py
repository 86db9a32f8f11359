"""Customer-managed KMS keys per purpose (R6, R7, R12, R15). Stateful: retained in production."""

from __future__ import annotations

from constructs import Construct
from constructs.data_classification import tag_phi
from constructs.purpose_key import PurposeKey, ServicePrincipalUse
from constructs.traceability import trace

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig


class KeysStack(MediVaultStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=config.primary_region,
            description="customer-managed KMS keys (data, logs, backup)",
            stateful=True,
        )
        removal = config.removal_policy
        prefix = f"alias/medivault/{config.name}"

        # PHI at rest: S3 buckets, Aurora, Redis, Secrets Manager secrets, AWS Backup reads, and the
        # dead-letter queues that may hold events naming PHI objects.
        self.data_key = PurposeKey(
            self,
            "DataKey",
            purpose="data",
            alias=f"{prefix}/data",
            via_services=["s3", "rds", "elasticache", "secretsmanager", "backup", "sqs"],
            removal_policy=removal,
        ).key

        # CloudWatch Logs encrypts log groups itself; it may use the key only for this account's groups.
        self.logs_key = PurposeKey(
            self,
            "LogsKey",
            purpose="logs",
            alias=f"{prefix}/logs",
            via_services=["logs"],
            service_principals=[ServicePrincipalUse.cloudwatch_logs(self)],
            removal_policy=removal,
        ).key

        # Recovery points in the primary backup vault.
        self.backup_key = PurposeKey(
            self,
            "BackupKey",
            purpose="backup",
            alias=f"{prefix}/backup",
            via_services=["backup", "rds", "s3"],
            removal_policy=removal,
        ).key

        # Both keys decrypt PHI (objects, database, secrets, recovery points): the tag-based denies cover them.
        tag_phi(self.data_key)
        tag_phi(self.backup_key)

        trace(
            self.data_key,
            ["R6", "R7", "R8", "R10"],
            ["security"],
            "PHI at rest (S3, Aurora, Redis, secrets) under a rotated customer-managed key usable only via those services.",
        )
        trace(
            self.logs_key,
            ["R12", "R13"],
            ["security", "operational-excellence"],
            "Log groups are encrypted with a key CloudWatch Logs may use only for this account's groups.",
        )
        trace(self.backup_key, ["R15"], ["security", "reliability"], "Recovery points in the primary vault are encrypted with their own rotated key.")
