"""The optional organisation stage: deployed into the management account only when asked."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks.config.organization import OrganizationConfig
from stacks.organization_stack import GuardrailsStack, IdentityCenterStack


class OrganizationStage(cdk.Stage):
    """Stacks are named ``Organization-Guardrails`` and ``Organization-IdentityCenter``."""

    STAGE_NAME = "Organization"

    def __init__(self, scope: Construct, *, config: OrganizationConfig) -> None:
        super().__init__(scope, self.STAGE_NAME)
        self.config = config
        self.guardrails = GuardrailsStack(self, "Guardrails", config=config)
        self.identity_center = IdentityCenterStack(self, "IdentityCenter", config=config)
