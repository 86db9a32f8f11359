"""What every MediVault stack shares: environment, tags, termination protection, offline AZs."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks.config import EnvironmentConfig


class MediVaultStack(cdk.Stack):
    """A stack of one environment in one region.

    ``stateful`` stacks (keys, data, audit, backup) get termination protection in production.
    The Availability Zones come from config, so synth never asks AWS for them (offline, R1).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        region: str,
        description: str,
        stateful: bool = False,
        cross_region_references: bool = False,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=config.account, region=region),
            description=f"MediVault EU ({config.name}): {description}",
            termination_protection=stateful and config.is_production,
            cross_region_references=cross_region_references,
        )
        self.config = config
        self._azs = list(config.network.availability_zones) if region == config.primary_region else None
        cdk.Tags.of(self).add("project", "medivault-eu")
        cdk.Tags.of(self).add("environment", config.name)

    @property
    def availability_zones(self) -> list[str]:
        if self._azs is not None:
            return self._azs
        return [f"{self.region}a", f"{self.region}b", f"{self.region}c"]
