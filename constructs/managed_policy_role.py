"""An IAM role whose grants land in a customer-managed policy, not an inline one.

HIPAA.Security-IAMNoInlinePolicy (HIPAA 164.308(a)(3)/(4), 164.312(a)(1)) asks that permissions
live in managed policies, which can be reviewed, versioned and attached on their own. CDK's
``grant*`` methods call ``add_to_principal_policy``; this role sends those statements to one
``AWS::IAM::ManagedPolicy`` of its own, so the least-privilege statements CDK computes stay
exactly as they are, only in the reviewable form.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from constructs import Construct


class ManagedPolicyRole(iam.Role):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._grants_policy: iam.ManagedPolicy | None = None

    @property
    def grants_policy(self) -> iam.ManagedPolicy | None:
        """The customer-managed policy that holds this role's grants (None until the first grant)."""
        return self._grants_policy

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        if self._grants_policy is None:
            self._grants_policy = iam.ManagedPolicy(self, "GrantsPolicy", roles=[self])
        self._grants_policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self._grants_policy)

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        return self.add_to_principal_policy(statement).statement_added
