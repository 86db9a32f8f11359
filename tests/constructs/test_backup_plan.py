"""DrBackupPlan and BackupServiceRole: rules, copies, selections, and the ids they keep."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_backup as backup
from aws_cdk.assertions import Template
from cdk_nag import WriteNagSuppressionsToCloudFormationAspect
from constructs.backup_plan import BACKUP_MANAGED_POLICIES, BackupPlanSettings, BackupServiceRole, DrBackupPlan

from tests.constructs.helpers import bare_stack, lid, resources

pytestmark = pytest.mark.requirements("R15")

DR_VAULT = "arn:aws:backup:eu-west-1:123456789012:backup-vault:dr"


def _plan() -> tuple[DrBackupPlan, BackupServiceRole, Template]:
    stack = bare_stack("123456789012")
    cdk.Aspects.of(stack).add(WriteNagSuppressionsToCloudFormationAspect())
    plan = DrBackupPlan(
        stack,
        "Plan",
        settings=BackupPlanSettings(
            name="medivault-production",
            daily_schedule="cron(0 3 * * ? *)",
            daily_retention_days=35,
            monthly_schedule="cron(0 5 1 * ? *)",
            monthly_retention_days=2557,
            continuous_retention_days=35,
        ),
        vault=backup.BackupVault.from_backup_vault_name(stack, "Primary", "primary"),
        dr_vault=backup.BackupVault.from_backup_vault_arn(stack, "Dr", DR_VAULT),
    )
    role = BackupServiceRole(stack, "BackupRole", description="d")
    plan.protect(resource_arns=["arn:aws:rds:eu-central-1:123456789012:cluster:db", "arn:aws:s3:::records"], role=role)
    return plan, role, Template.from_stack(stack)


def test_daily_and_monthly_copied_to_the_dr_vault_continuous_stays() -> None:
    plan, _, template = _plan()
    assert lid(plan).startswith("Plan")
    rules = {r["RuleName"]: r for r in resources(template, "AWS::Backup::BackupPlan")[lid(plan)]["Properties"]["BackupPlan"]["BackupPlanRule"]}
    assert set(rules) == {"Daily", "Monthly", "Continuous"}
    assert rules["Daily"]["CopyActions"] == [{"DestinationBackupVaultArn": DR_VAULT, "Lifecycle": {"DeleteAfterDays": 35}}]
    assert rules["Monthly"]["CopyActions"] == [{"DestinationBackupVaultArn": DR_VAULT, "Lifecycle": {"DeleteAfterDays": 2557}}]
    assert rules["Continuous"]["EnableContinuousBackup"] is True and "CopyActions" not in rules["Continuous"]
    assert rules["Continuous"]["Lifecycle"] == {"DeleteAfterDays": 35}


def test_selections_by_resource_and_by_tag_run_as_the_service_role() -> None:
    _, role, template = _plan()
    selections = {
        s["Properties"]["BackupSelection"]["SelectionName"]: s["Properties"]["BackupSelection"]
        for s in resources(template, "AWS::Backup::BackupSelection").values()
    }
    assert selections["aurora-and-phi-buckets"]["Resources"] == ["arn:aws:rds:eu-central-1:123456789012:cluster:db", "arn:aws:s3:::records"]
    assert selections["tagged-backup-required"]["ListOfTags"] == [
        {"ConditionKey": "backup", "ConditionValue": "required", "ConditionType": "STRINGEQUALS"}
    ]
    assert all(s["IamRoleArn"] == {"Fn::GetAtt": [lid(role), "Arn"]} for s in selections.values())


def test_service_role_has_exactly_the_four_documented_policies_each_acknowledged() -> None:
    _, role, template = _plan()
    assert lid(role).startswith("BackupRole")
    props = resources(template, "AWS::IAM::Role")[lid(role)]
    assert len(props["Properties"]["ManagedPolicyArns"]) == len(BACKUP_MANAGED_POLICIES) == 4
    suppressed = {r["id"] for r in props["Metadata"]["cdk_nag"]["rules_to_suppress"]}
    assert suppressed == {f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]" for name in BACKUP_MANAGED_POLICIES}
