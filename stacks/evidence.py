"""Map an environment's config onto the ``EvidenceProtection`` setting of the evidence buckets.

Constructs do not import ``stacks/``: the break-glass role (``stacks/config/organization.py``), the
CloudFormation deployment role and the sandbox teardown roles reach them as this one setting.
"""

from __future__ import annotations

from constructs.evidence_protection import EvidenceProtection
from constructs.permission_sets import break_glass_principals
from constructs.service_control_policies import DEPLOYMENT_ROLE_ARN

from stacks.config import EnvironmentConfig
from stacks.config.organization import organization
from stacks.organization_stack import break_glass


def evidence_protection(config: EnvironmentConfig) -> EvidenceProtection:
    """Break-glass (the organisation's role and permission set) may delete; the deploy role may update."""
    return EvidenceProtection(
        break_glass_principals=tuple(break_glass_principals(break_glass(organization()))),
        deployment_principals=(DEPLOYMENT_ROLE_ARN,),
        teardown_principals=config.evidence.teardown_principals,
    )
