"""One deployable environment: every stack of MediVault EU, across its three regions."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.edge_global_stack import EdgeGlobalStack
from stacks.keys_stack import KeysStack
from stacks.network_stack import NetworkStack


class MediVaultStage(cdk.Stage):
    """Stacks are named ``<Stage>-<Stack>`` (e.g. ``Sandbox-Network``) in the cloud assembly."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, config.stage_name)
        self.config = config
        self.keys = KeysStack(self, "Keys", config=config)
        self.network = NetworkStack(self, "Network", config=config, logs_key=self.keys.logs_key)
        self.edge_global = EdgeGlobalStack(self, "EdgeGlobal", config=config)
