"""ReadinessChecker: one alarm per resource on the convention, its own group beside it, read-only role."""

from __future__ import annotations

import pytest
from aws_cdk import aws_backup as backup
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from constructs.dr_readiness import ReadinessChecker, ReadinessSettings

from tests.constructs.helpers import actions, bare_stack, function_settings, lid, resources, statements

pytestmark = pytest.mark.requirements("R13", "R15")

ARNS = ["arn:aws:rds:eu-central-1:123456789012:cluster:db", "arn:aws:s3:::records"]


def _checker() -> tuple[ReadinessChecker, sns.Topic, Template]:
    stack = bare_stack("123456789012")
    topic = sns.Topic(stack, "Topic", master_key=kms.Key(stack, "TopicKey"))
    checker = ReadinessChecker(
        stack,
        "Readiness",
        settings=ReadinessSettings(primary_max_age_hours=26, copy_max_age_hours=30, schedule="cron(0 12 * * ? *)", dr_region="eu-west-1"),
        function=function_settings(stack, with_group=False),
        primary_vault=backup.BackupVault.from_backup_vault_name(stack, "Primary", "primary"),
        dr_vault=backup.BackupVault.from_backup_vault_arn(stack, "Dr", "arn:aws:backup:eu-west-1:123456789012:backup-vault:dr"),
        resource_arns=ARNS,
        topic=topic,
    )
    return checker, topic, Template.from_stack(stack)


def test_one_alarm_per_resource_missing_data_breaches_and_all_three_states_notify() -> None:
    checker, topic, template = _checker()
    alarms = [resources(template, "AWS::CloudWatch::Alarm")[lid(a)]["Properties"] for a in checker.alarms]
    assert [a["Dimensions"] for a in alarms] == [[{"Name": "ResourceArn", "Value": arn}] for arn in ARNS]
    for alarm in alarms:
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"], alarm["Period"]) == ("MediVault/DR", "DrReady", "Minimum", 86400)
        assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["TreatMissingData"]) == ("LessThanThreshold", 1, "breaching")
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            assert alarm[key] == [{"Ref": lid(topic)}], key


def test_security_group_keeps_its_id_beside_the_function() -> None:
    checker, _, template = _checker()
    assert lid(checker.security_group).startswith("ReadinessSecurityGroup")
    [group] = resources(template, "AWS::EC2::SecurityGroup").values()
    assert group["Properties"]["SecurityGroupEgress"] == [
        {"CidrIp": "0.0.0.0/0", "Description": "HTTPS to AWS Backup in the DR region (no cross-region endpoint)", "FromPort": 443,
         "IpProtocol": "tcp", "ToPort": 443}
    ]  # fmt: skip
    function = resources(template, "AWS::Lambda::Function")[lid(checker.function)]["Properties"]
    assert function["VpcConfig"]["SecurityGroupIds"] == [{"Fn::GetAtt": [lid(checker.security_group), "GroupId"]}]
    assert function["Environment"]["Variables"]["METRIC_NAMESPACE"] == "MediVault/DR"


def test_role_reads_recovery_points_and_writes_metrics_to_its_namespace_only() -> None:
    checker, _, template = _checker()
    document = resources(template, "AWS::IAM::ManagedPolicy")[lid(checker.role.grants_policy)]["Properties"]["PolicyDocument"]
    granted = {a for s in statements(document) for a in actions(s)}
    assert {a for a in granted if a.startswith("backup:")} == {"backup:ListRecoveryPointsByBackupVault", "backup:ListRecoveryPointsByResource"}
    [put] = [s for s in statements(document) if "cloudwatch:PutMetricData" in actions(s)]
    assert put["Condition"] == {"StringEquals": {"cloudwatch:namespace": "MediVault/DR"}}
    schedule = resources(template, "AWS::Events::Rule")[lid(checker.schedule)]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 12 * * ? *)"
