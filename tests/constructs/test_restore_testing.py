"""AuroraRestoreTesting keeps its fixed-name ids and restores into the cluster's own network;
notifications_key admits EventBridge and CloudWatch for this account's resources only."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds
from aws_cdk.assertions import Template
from constructs.backup_job_alerts import notifications_key
from constructs.restore_testing import AuroraRestoreTesting, RestoreTestingSettings

from tests.constructs.helpers import bare_stack, lid, resources, statements

pytestmark = pytest.mark.requirements("R15")

SETTINGS = RestoreTestingSettings(name="medivault_production_aurora", schedule="cron(0 5 ? * SUN *)", validation_window_hours=4)


def test_restores_into_the_clusters_subnet_group_and_groups_under_the_fixed_ids() -> None:
    stack = bare_stack("123456789012")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    cluster = rds.DatabaseCluster(
        stack,
        "Aurora",
        engine=rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_16_4),
        writer=rds.ClusterInstance.serverless_v2("Writer"),
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
    )
    role = iam.Role(stack, "BackupRole", assumed_by=iam.ServicePrincipal("backup.amazonaws.com"))
    plan = AuroraRestoreTesting(
        stack,
        "RestoreTestingPlan",
        settings=SETTINGS,
        vault=backup.BackupVault.from_backup_vault_name(stack, "V", "primary"),
        database=cluster,
        role=role,
    )
    template = Template.from_stack(stack)
    assert (lid(plan), lid(plan.selection)) == ("RestoreTestingPlan", "RestoreTestingAurora")
    selection = resources(template, "AWS::Backup::RestoreTestingSelection")["RestoreTestingAurora"]["Properties"]
    assert selection["RestoreTestingPlanName"] == {"Ref": "RestoreTestingPlan"}
    assert selection["ValidationWindowHours"] == 4
    overrides = selection["RestoreMetadataOverrides"]
    assert overrides["dbsubnetgroupname"] == {"Ref": lid(cluster.node.find_child("Subnets"))}
    assert lid(cluster.connections.security_groups[0]) in str(overrides["vpcsecuritygroupids"])


def test_an_imported_cluster_without_a_subnet_group_is_refused() -> None:
    stack = bare_stack()
    cluster = rds.DatabaseCluster.from_database_cluster_attributes(stack, "Db", cluster_identifier="db")
    with pytest.raises(ValueError, match="no subnet group"):
        AuroraRestoreTesting(
            stack, "RestoreTestingPlan", settings=SETTINGS, vault=backup.BackupVault.from_backup_vault_name(stack, "V", "v"), database=cluster,
            role=iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("backup.amazonaws.com")),
        )  # fmt: skip


def test_notifications_key_pins_eventbridge_by_context_and_cloudwatch_by_source() -> None:
    stack = bare_stack("123456789012")
    key = notifications_key(stack, "NotificationsKey", purpose="p", alias="alias/t/n", removal_policy=cdk.RemovalPolicy.DESTROY)
    policy = resources(Template.from_stack(stack), "AWS::KMS::Key")[lid(key)]["Properties"]["KeyPolicy"]
    by_sid = {s["Sid"]: s for s in statements(policy)}
    assert "kms:EncryptionContext:aws:sns:topicArn" in str(by_sid["ServiceUseEventsTopics"]["Condition"]["ArnLike"])
    assert "kms:EncryptionContext:aws:sqs:arn" in str(by_sid["ServiceUseEventsDeadLetterQueues"]["Condition"]["ArnLike"])
    assert by_sid["ServiceUseCloudwatch"]["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
