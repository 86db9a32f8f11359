"""The only module that calls AWS: list recovery points (AWS Backup, both regions), publish metrics.

Clients are created on first use (not at import): the primary region's from AWS_REGION, the DR
region's from the function's settings.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from mv_dr_readiness.logic import RecoveryPoint

MAX_DATUMS_PER_CALL = 1000  # CloudWatch PutMetricData limit
# What a failed AWS call raises (an error answer, or no answer: endpoint, credentials, timeout).
AWS_ERRORS = (ClientError, BotoCoreError)


@functools.cache
def backup(region: str | None = None) -> Any:
    """The AWS Backup client of ``region`` (None: the function's own region)."""
    return boto3.client("backup", region_name=region) if region else boto3.client("backup")


@functools.cache
def cloudwatch() -> Any:
    return boto3.client("cloudwatch")


def primary_recovery_points(backup: Any, resource_arn: str) -> Iterator[RecoveryPoint]:
    """Every recovery point of one resource in the client's region (all vaults, all pages)."""
    paginator = backup.get_paginator("list_recovery_points_by_resource")
    for page in paginator.paginate(ResourceArn=resource_arn):
        for item in page.get("RecoveryPoints", []):
            yield RecoveryPoint(
                arn=item["RecoveryPointArn"],
                vault_name=item.get("BackupVaultName", ""),
                created=item["CreationDate"],
                status=item.get("Status", ""),
            )


def vault_recovery_points(backup: Any, vault_name: str, resource_arn: str) -> Iterator[RecoveryPoint]:
    """The recovery points of one (source) resource in one vault, e.g. the DR vault (all pages)."""
    paginator = backup.get_paginator("list_recovery_points_by_backup_vault")
    for page in paginator.paginate(BackupVaultName=vault_name, ByResourceArn=resource_arn):
        for item in page.get("RecoveryPoints", []):
            yield RecoveryPoint(
                arn=item["RecoveryPointArn"],
                vault_name=item.get("BackupVaultName", vault_name),
                created=item["CreationDate"],
                status=item.get("Status", ""),
            )


def put_metrics(cloudwatch: Any, namespace: str, data: list[dict[str, object]]) -> int:
    for start in range(0, len(data), MAX_DATUMS_PER_CALL):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start : start + MAX_DATUMS_PER_CALL])
    return len(data)
