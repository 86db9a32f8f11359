"""The Audit Manager assessment (R14, behind ``audit.audit_manager_enabled``): HIPAA evidence collected
continuously from Config, CloudTrail and Security Hub, reports written to the Config bucket.

``HipaaAssessment`` is a ``CfnAssessment`` subclass (id ``HipaaAssessment`` kept); its owner role is
created beside it in the same scope as ``AuditOwnerRole`` (the id it has always had).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_auditmanager as auditmanager
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.managed_policy_role import ManagedPolicyRole
from constructs.traceability import trace


class HipaaAssessment(auditmanager.CfnAssessment):
    def __init__(self, scope: Construct, construct_id: str, *, name: str, framework_id: str, reports_bucket: s3.IBucket) -> None:
        account = cdk.Stack.of(scope).account
        owner = ManagedPolicyRole(
            scope,
            "AuditOwnerRole",
            assumed_by=iam.AccountPrincipal(account),
            description="Audit Manager assessment owner (assumed through IAM Identity Center by the compliance officer)",
        )
        owner.add_to_principal_policy(
            iam.PolicyStatement(actions=["auditmanager:Get*", "auditmanager:List*", "auditmanager:CreateAssessmentReport"], resources=["*"])
        )
        acknowledge(owner, "AwsSolutions-IAM5[Action::auditmanager:Get*]", "Read-only Audit Manager access for the assessment owner.")
        acknowledge(owner, "AwsSolutions-IAM5[Action::auditmanager:List*]", "Read-only Audit Manager access for the assessment owner.")
        acknowledge(owner, "AwsSolutions-IAM5[Resource::*]", "Audit Manager list calls and report creation have no resource-level permissions.")
        accounts = auditmanager.CfnAssessment.AWSAccountProperty(id=account)
        super().__init__(
            scope,
            construct_id,
            name=name,
            description="MediVault EU: HIPAA Security Rule evidence (Config, CloudTrail, Security Hub)",
            framework_id=framework_id,
            aws_account=accounts,
            scope=auditmanager.CfnAssessment.ScopeProperty(aws_accounts=[accounts]),
            roles=[auditmanager.CfnAssessment.RoleProperty(role_arn=owner.role_arn, role_type="PROCESS_OWNER")],
            assessment_reports_destination=auditmanager.CfnAssessment.AssessmentReportsDestinationProperty(
                destination=f"s3://{reports_bucket.bucket_name}/audit-manager", destination_type="S3"
            ),
            status="ACTIVE",
        )
        self.owner = owner
        trace(self, ["R14"], ["security", "operational-excellence"], "Audit Manager collects HIPAA evidence continuously.")
