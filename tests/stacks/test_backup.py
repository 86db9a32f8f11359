"""Backup and DR (R15): locked vaults in both regions, the plan and its cross-region copies,
selections, failure notifications, Backup Audit Manager, restore testing, DR readiness.

Both stacks are wired into the stage; the session ``synth`` fixture builds them behind the
compliance gates, and tests/stacks/test_cfn_lint.py lints their templates (both regions).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from stacks import config as cfg
from tests.conftest import CONCRETE_ACCOUNTS, Synthesized, resources_of

pytestmark = pytest.mark.requirements("R1", "R15")

# The data tier's pinned logical IDs (tests/stacks/test_data.py): what the plan must protect.
DATA_CLUSTER = "AuroraClusterD4EFE71C"
DATA_BUCKETS = ("RecordsBucket600C9C86", "ImagingBucketBF481A76")
# Renaming these replaces a vault or a key (and with the key, access to every copy).
PINNED_DR = {"AWS::Backup::BackupVault": {"DrVault3775A96C"}, "AWS::KMS::Key": {"DrBackupKey5666D20F"}}
PINNED_PRIMARY_VAULT = "PrimaryVault4DE8617C"
PINNED_BACKUP_KEYS = {"NotificationsKeyDB5F2700"}


def _one(template: Template, resource_type: str) -> dict[str, Any]:
    found = resources_of(template, resource_type)
    assert len(found) == 1, sorted(found)
    return next(iter(found.values()))


def _lock(environment: str) -> dict[str, int]:
    b = cfg.load(environment, None).backup
    expected = {"MinRetentionDays": b.vault_lock_min_retention_days, "MaxRetentionDays": b.vault_lock_max_retention_days}
    if b.vault_lock_changeable_for_days is not None:
        expected["ChangeableForDays"] = b.vault_lock_changeable_for_days
    return expected


DENY_DELETE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
            "Resource": "*",
        }
    ],
}


def _deny_delete(synth: Synthesized, environment: str) -> dict[str, object]:
    """Production: the deny applies to everyone. Sandbox: the teardown principals are exempt
    (backup.teardown_principals), so tools/sandbox/teardown.py can remove recovery points."""
    principals = cfg.load(environment, None).backup.teardown_principals
    if not principals:
        return DENY_DELETE
    account = synth.stack(environment, "backup").account
    statement = {
        **DENY_DELETE["Statement"][0],
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": [f"arn:aws:iam::{account}:{p}" for p in principals]}},
    }  # type: ignore[index]
    return {**DENY_DELETE, "Statement": [statement]}


# ---- DR vault (wired into the stage) --------------------------------------------------------


def test_dr_vault_is_locked_encrypted_with_its_own_key_and_denies_deletion(synth: Synthesized, environment: str) -> None:
    stack = synth.stack(environment, "dr_vault")
    assert stack.region == "eu-west-1"
    template = synth.template(environment, "dr_vault")
    vault = _one(template, "AWS::Backup::BackupVault")
    props = vault["Properties"]
    assert props["BackupVaultName"] == f"medivault-{environment}-dr"
    assert props["LockConfiguration"] == _lock(environment)
    assert props["AccessPolicy"] == _deny_delete(synth, environment)
    key_id = next(iter(resources_of(template, "AWS::KMS::Key")))
    assert props["EncryptionKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_production_lock_is_compliance_mode_and_sandbox_governance(synth: Synthesized) -> None:
    prod = _one(synth.template("production", "dr_vault"), "AWS::Backup::BackupVault")["Properties"]["LockConfiguration"]
    assert prod == {"ChangeableForDays": 3, "MinRetentionDays": 35, "MaxRetentionDays": 3653}
    sandbox = _one(synth.template("sandbox", "dr_vault"), "AWS::Backup::BackupVault")["Properties"]["LockConfiguration"]
    assert "ChangeableForDays" not in sandbox  # no cooling-off period = governance mode


def test_dr_vault_and_key_are_retained_and_pinned(synth: Synthesized) -> None:
    for environment in cfg.ENVIRONMENT_NAMES:
        template = synth.template(environment, "dr_vault")
        for resource_type, ids in PINNED_DR.items():
            assert set(resources_of(template, resource_type)) == ids, f"stateful logical IDs changed ({environment})"
    for resource in [*resources_of(synth.template("production", "dr_vault"), "AWS::Backup::BackupVault").values()]:
        assert resource["DeletionPolicy"] == "Retain" and resource["UpdateReplacePolicy"] == "Retain"
    assert synth.stack("production", "dr_vault").termination_protection is True
    assert synth.stack("sandbox", "dr_vault").termination_protection is False
    key = _one(synth.template("production", "dr_vault"), "AWS::KMS::Key")
    assert key["DeletionPolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True
    via = key["Properties"]["KeyPolicy"]["Statement"][1]["Condition"]["StringEquals"]["kms:ViaService"]
    assert sorted(via) == ["backup.eu-west-1.amazonaws.com", "rds.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com"]


# ---- primary vault and plan ---------------------------------------------------------------


@pytest.mark.parametrize("environment", cfg.ENVIRONMENT_NAMES)
def test_primary_vault_locked_and_encrypted_with_the_backup_key(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "backup")
    vaults = resources_of(template, "AWS::Backup::BackupVault")
    assert set(vaults) == {PINNED_PRIMARY_VAULT}
    props = vaults[PINNED_PRIMARY_VAULT]["Properties"]
    assert props["BackupVaultName"] == f"medivault-{environment}-primary"
    assert props["LockConfiguration"] == _lock(environment)
    assert props["AccessPolicy"] == _deny_delete(synth, environment)
    assert props["EncryptionKeyArn"]["Fn::GetStackOutput"]["StackName"] == f"{environment.capitalize()}-Keys"
    assert "BackupKey" in props["EncryptionKeyArn"]["Fn::GetStackOutput"]["OutputName"]
    expected = "Retain" if environment == "production" else "Delete"
    assert vaults[PINNED_PRIMARY_VAULT]["DeletionPolicy"] == expected
    assert set(resources_of(template, "AWS::KMS::Key")) == PINNED_BACKUP_KEYS
    assert synth.stack(environment, "backup").termination_protection is (environment == "production")


def _rules(template: Template) -> dict[str, dict[str, Any]]:
    plan = _one(template, "AWS::Backup::BackupPlan")["Properties"]["BackupPlan"]
    return {r["RuleName"]: r for r in plan["BackupPlanRule"]}


def _copy_target(environment: str) -> dict[str, Any]:
    return {
        "Fn::GetStackOutput": {
            "StackName": f"{environment.capitalize()}-DrVault",
            "Region": "eu-west-1",
            "OutputName": Match.string_like_regexp("DrVault3775A96CBackupVaultArn"),
        }
    }


def test_production_plan_rules_and_copies(synth: Synthesized) -> None:
    rules = _rules(synth.template("production", "backup"))
    assert set(rules) == {"Daily", "Monthly", "Continuous"}
    daily, monthly, continuous = rules["Daily"], rules["Monthly"], rules["Continuous"]
    assert daily["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert daily["Lifecycle"] == {"DeleteAfterDays": 35}
    assert [c["Lifecycle"] for c in daily["CopyActions"]] == [{"DeleteAfterDays": 35}]
    assert monthly["ScheduleExpression"] == "cron(0 5 1 * ? *)"
    assert monthly["Lifecycle"] == {"DeleteAfterDays": 2557}
    assert [c["Lifecycle"] for c in monthly["CopyActions"]] == [{"DeleteAfterDays": 2557}]
    assert continuous["EnableContinuousBackup"] is True
    assert continuous["Lifecycle"] == {"DeleteAfterDays": 35}
    assert "CopyActions" not in continuous  # a copy of a continuous backup is just another snapshot
    for rule in (daily, monthly):
        assert rule.get("EnableContinuousBackup") in (None, False)
        assert rule["TargetBackupVault"] == {"Fn::GetAtt": [PINNED_PRIMARY_VAULT, "BackupVaultName"]}


@pytest.mark.parametrize("environment", cfg.ENVIRONMENT_NAMES)
def test_copy_actions_point_at_the_dr_vault_through_a_weak_cross_region_reference(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "backup")
    for name in ("Daily", "Monthly"):
        template.has_resource_properties(
            "AWS::Backup::BackupPlan",
            {
                "BackupPlan": {
                    "BackupPlanRule": Match.array_with(
                        [
                            Match.object_like(
                                {"RuleName": name, "CopyActions": [Match.object_like({"DestinationBackupVaultArn": _copy_target(environment)})]}
                            )
                        ]
                    )
                }
            },
        )
    # Weak: no export locks the DR stack, no SSM/custom-resource export writer; deploy order kept.
    text = json.dumps(template.to_json())
    assert "Fn::ImportValue" not in text and "Custom::CrossRegion" not in text
    assert "Outputs" not in template.to_json() or all("Export" not in o for o in template.to_json()["Outputs"].values())
    dr_stack = synth.stages[environment].dr_vault
    assert dr_stack in synth.stack(environment, "backup").dependencies
    dr_outputs = Template.from_stack(dr_stack).to_json()["Outputs"]
    assert all("Export" not in o for o in dr_outputs.values())


def test_no_cold_storage_for_aurora_or_s3(synth: Synthesized, environment: str) -> None:
    # AWS Backup cannot tier Aurora or S3 recovery points to cold storage; a rule asking for it
    # would be ignored at best. Continuous backups cap at 35 days (config validation).
    text = json.dumps(_one(synth.template(environment, "backup"), "AWS::Backup::BackupPlan"))
    assert "MoveToColdStorageAfterDays" not in text
    assert "OptInToArchiveForSupportedResources" not in text


# ---- selections and role --------------------------------------------------------------------


def test_selections_by_resource_and_by_tag(synth: Synthesized, environment: str) -> None:
    selections = {
        s["Properties"]["BackupSelection"]["SelectionName"]: s["Properties"]["BackupSelection"]
        for s in resources_of(synth.template(environment, "backup"), "AWS::Backup::BackupSelection").values()
    }
    assert set(selections) == {"aurora-and-phi-buckets", "tagged-backup-required"}
    data_stack = f"{environment.capitalize()}-Data"

    def output(logical_id: str, attribute: str) -> dict[str, Any]:
        return {
            "Fn::GetStackOutput": {
                "StackName": data_stack,
                "Region": "eu-central-1",
                "OutputName": Match.string_like_regexp(f"{attribute}{logical_id}"),
            }
        }

    expected = [
        {"Fn::Join": ["", [f"arn:aws:rds:eu-central-1:{CONCRETE_ACCOUNTS[environment]}:cluster:", output(DATA_CLUSTER, "Ref")]]},
        *(output(bucket, "FnGetAtt") for bucket in DATA_BUCKETS),
    ]
    synth.template(environment, "backup").has_resource_properties(
        "AWS::Backup::BackupSelection", {"BackupSelection": Match.object_like({"SelectionName": "aurora-and-phi-buckets", "Resources": expected})}
    )
    assert selections["tagged-backup-required"]["ListOfTags"] == [
        {"ConditionKey": "backup", "ConditionValue": "required", "ConditionType": "STRINGEQUALS"}
    ]


def test_backup_role_has_exactly_the_documented_aws_backup_policies(synth: Synthesized) -> None:
    template = synth.template("production", "backup")
    roles = {lid: r for lid, r in resources_of(template, "AWS::IAM::Role").items() if lid.startswith("BackupRole")}
    assert len(roles) == 1
    role = next(iter(roles.values()))["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "backup.amazonaws.com"}
    arns = sorted(json.dumps(a) for a in role["ManagedPolicyArns"])
    assert len(arns) == 4
    for name in ("service-role/AWSBackupServiceRolePolicyForBackup", "service-role/AWSBackupServiceRolePolicyForRestores",
                 "/AWSBackupServiceRolePolicyForS3Backup", "/AWSBackupServiceRolePolicyForS3Restore"):  # fmt: skip
        assert any(name in a for a in arns), name
    suppressed = {s["id"] for s in next(iter(roles.values()))["Metadata"]["cdk_nag"]["rules_to_suppress"]}
    assert len([s for s in suppressed if s.startswith("AwsSolutions-IAM4")]) == 4


# ---- notifications, audit, restore testing ---------------------------------------------------


def test_job_failures_notify_an_encrypted_topic(synth: Synthesized) -> None:
    template = synth.template("production", "backup")
    topic_id = next(iter(resources_of(template, "AWS::SNS::Topic")))
    assert "KmsMasterKeyId" in _one(template, "AWS::SNS::Topic")["Properties"]
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.backup"],
                "detail-type": ["Backup Job State Change", "Copy Job State Change", "Restore Job State Change"],
                # Backup and copy jobs report detail.state, restore jobs detail.status (constructs/backup_job_alerts.py).
                "detail": {"$or": [{"state": ["FAILED", "ABORTED", "EXPIRED", "PARTIAL"]}, {"status": ["FAILED", "ABORTED"]}]},
            },
            "Targets": [Match.object_like({"Arn": {"Ref": topic_id}})],
        },
    )
    mailed = sorted(s["Properties"]["Endpoint"] for s in resources_of(template, "AWS::SNS::Subscription").values())
    assert mailed == sorted(["ops@medivault.example", "security@medivault.example"])  # ops and the security officer
    key_policy = json.dumps(_one_key(template, "backup-notifications"))
    assert "events.amazonaws.com" in key_policy and "cloudwatch.amazonaws.com" in key_policy


def _one_key(template: Template, alias_part: str) -> dict[str, Any]:
    aliases = [a for a in resources_of(template, "AWS::KMS::Alias").values() if alias_part in a["Properties"]["AliasName"]]
    assert len(aliases) == 1
    key_id = aliases[0]["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
    return resources_of(template, "AWS::KMS::Key")[key_id]


def test_audit_framework_controls(synth: Synthesized) -> None:
    framework = _one(synth.template("production", "backup"), "AWS::Backup::Framework")["Properties"]
    controls = {c["ControlName"]: c for c in framework["FrameworkControls"]}

    def params(name: str) -> dict[str, str]:
        return {p["ParameterName"]: p["ParameterValue"] for p in controls[name].get("ControlInputParameters", [])}

    assert params("BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK") == {
        "requiredFrequencyUnit": "days",
        "requiredFrequencyValue": "1",
        "requiredRetentionDays": "35",
    }
    assert params("BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION") == {"crossRegionList": "eu-west-1"}
    assert params("BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK") == {"minRetentionDays": "35", "maxRetentionDays": "3653"}
    assert params("BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK") == {"requiredRetentionDays": "35"}
    assert params("BACKUP_LAST_RECOVERY_POINT_CREATED") == {"recoveryPointAgeUnit": "hours", "recoveryPointAgeValue": "26"}
    assert {"BACKUP_RECOVERY_POINT_ENCRYPTED", "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED", "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN"} <= set(
        controls
    )
    assert controls["BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION"]["ControlScope"] == {"ComplianceResourceTypes": ["Aurora", "S3"]}


def test_restore_testing_restores_the_latest_aurora_snapshot(synth: Synthesized, environment: str) -> None:
    template = synth.template(environment, "backup")
    plan_id, plan = next(iter(resources_of(template, "AWS::Backup::RestoreTestingPlan").items()))
    props = plan["Properties"]
    assert props["ScheduleExpression"] == cfg.load(environment, None).backup.restore_testing_schedule
    selection = props["RecoveryPointSelection"]
    assert selection["Algorithm"] == "LATEST_WITHIN_WINDOW"
    assert selection["IncludeVaults"] == [{"Fn::GetAtt": [PINNED_PRIMARY_VAULT, "BackupVaultArn"]}]
    assert selection["RecoveryPointTypes"] == ["SNAPSHOT"]
    restore = _one(template, "AWS::Backup::RestoreTestingSelection")["Properties"]
    assert restore["ProtectedResourceType"] == "Aurora"
    assert restore["RestoreTestingPlanName"] == {"Ref": plan_id}
    assert restore["ValidationWindowHours"] == 4
    assert DATA_CLUSTER in json.dumps(restore["ProtectedResourceArns"])
    assert restore["IamRoleArn"]["Fn::GetAtt"][0].startswith("BackupRole")


# ---- DR readiness ---------------------------------------------------------------------------


def test_readiness_checker_runs_daily_with_thresholds_and_alarms_per_resource(synth: Synthesized) -> None:
    template = synth.template("production", "backup")
    functions = [
        f
        for f in resources_of(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "mv_dr_readiness.handler.lambda_handler"
    ]
    assert len(functions) == 1
    env = functions[0]["Properties"]["Environment"]["Variables"]
    assert env["PRIMARY_MAX_AGE_HOURS"] == "26" and env["COPY_MAX_AGE_HOURS"] == "30"
    assert env["DR_REGION"] == "eu-west-1"
    assert env["DR_VAULT_NAME"]["Fn::GetStackOutput"]["Region"] == "eu-west-1"
    assert env["PRIMARY_VAULT_NAME"] == {"Fn::GetAtt": [PINNED_PRIMARY_VAULT, "BackupVaultName"]}
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "cron(0 12 * * ? *)", "State": "ENABLED"})
    alarms = list(resources_of(template, "AWS::CloudWatch::Alarm").values())
    assert len(alarms) == 1 + len(DATA_BUCKETS)
    topic_id = next(iter(resources_of(template, "AWS::SNS::Topic")))
    for alarm in alarms:
        p = alarm["Properties"]
        assert (p["Namespace"], p["MetricName"], p["Statistic"], p["Period"]) == ("MediVault/DR", "DrReady", "Minimum", 86400)
        assert (p["ComparisonOperator"], p["Threshold"], p["TreatMissingData"]) == ("LessThanThreshold", 1, "breaching")
        # The one alarm-action convention (constructs/alert_topic.notify): ALARM, OK and INSUFFICIENT_DATA.
        for actions in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            assert p[actions] == [{"Ref": topic_id}], actions
    # The checker may list recovery points and publish only into its own namespace.
    statements = resources_of(template, "AWS::IAM::ManagedPolicy")["ReadinessRoleGrantsPolicy4CDEE677"]["Properties"]["PolicyDocument"]["Statement"]

    def actions_of(statement: dict[str, Any]) -> list[str]:
        return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]

    backup_actions = {a for statement in statements for a in actions_of(statement) if a.startswith("backup:")}
    assert backup_actions == {"backup:ListRecoveryPointsByResource", "backup:ListRecoveryPointsByBackupVault"}  # read-only
    [put_metric] = [statement for statement in statements if "cloudwatch:PutMetricData" in actions_of(statement)]
    assert actions_of(put_metric) == ["cloudwatch:PutMetricData"]
    assert put_metric["Condition"] == {"StringEquals": {"cloudwatch:namespace": "MediVault/DR"}}
