"""Where a MediVault function runs and what its logs and dead letters are encrypted with: the
``MediVaultFunction`` arguments a tier's functions share, as one frozen setting the stack maps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs


@dataclass(frozen=True, kw_only=True)
class FunctionSettings:
    vpc: ec2.IVpc
    vpc_subnets: ec2.SubnetSelection
    # None: the construct builds its own group (the DR-readiness checker, whose egress differs).
    security_group: ec2.ISecurityGroup | None
    logs_key: kms.IKey
    queue_key: kms.IKey  # the dead-letter queue's key: EventBridge must be able to use it (key policy)
    log_retention: logs.RetentionDays
    removal_policy: cdk.RemovalPolicy
    powertools_layer_version: int

    def kwargs(self) -> dict[str, Any]:
        if self.security_group is None:
            raise ValueError("FunctionSettings: no security group (replace() it with the construct's own group first)")
        return {
            "vpc": self.vpc,
            "vpc_subnets": self.vpc_subnets,
            "security_group": self.security_group,
            "logs_key": self.logs_key,
            "queue_key": self.queue_key,
            "log_retention": self.log_retention,
            "removal_policy": self.removal_policy,
            "powertools_layer_version": self.powertools_layer_version,
        }
