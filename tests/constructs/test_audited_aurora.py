"""AuditedAurora in a bare stack: the PHI tag on what holds or opens PHI only, and the acknowledgments on the
narrowest resource (the instances for the known RDSInBackupPlan false positive, the cluster only when
deletion protection is off).

cdk-nag's HIPAA.Security-RDSInBackupPlan flags Aurora *instances*, though AWS Backup protects Aurora per
cluster ("Amazon Aurora ... backed up at the cluster level",
https://docs.aws.amazon.com/aws-backup/latest/devguide/whatisbackup.html#supported-resources).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template
from constructs.audited_aurora import AuditedAurora, AuroraSettings

from tests.constructs.conftest import acknowledged, bare_stack, logical_id, tags, traces, vpc

pytestmark = pytest.mark.requirements("R6", "R10")

PRODUCTION = AuroraSettings(
    identifier="medivault-test-records",
    engine_version="17.7",
    min_acu=0.5,
    auto_pause_minutes=None,
    max_acu=16,
    backup_retention_days=35,
    insights_mode="ADVANCED",
    monitoring_interval_seconds=60,
    rotation_days=30,
    deletion_protection=True,
)
SANDBOX = dataclasses.replace(PRODUCTION, min_acu=0, auto_pause_minutes=10, deletion_protection=False, insights_mode="STANDARD")


def _build(settings: AuroraSettings) -> tuple[AuditedAurora, Template]:
    stack = bare_stack()
    network = vpc(stack)
    groups = [ec2.SecurityGroup(stack, name, vpc=network) for name in ("Db", "Rotation")]
    endpoint = network.add_interface_endpoint("SecretsManager", service=ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER)
    aurora = AuditedAurora(
        stack,
        "Aurora",
        settings=settings,
        vpc=network,
        subnets=ec2.SubnetSelection(subnet_group_name="Data"),
        availability_zones=["eu-central-1a", "eu-central-1b"],
        security_group=groups[0],
        encryption_key=kms.Key(stack, "DataKey"),
        logs_key=kms.Key(stack, "LogsKey"),
        log_retention=logs.RetentionDays.ONE_YEAR,
        rotation_subnets=ec2.SubnetSelection(subnet_group_name="App"),
        rotation_security_group=groups[1],
        secrets_manager_endpoint=endpoint,
        removal_policy=cdk.RemovalPolicy.RETAIN if settings.deletion_protection else cdk.RemovalPolicy.DESTROY,
    )
    return aurora, Template.from_stack(stack)


@pytest.fixture(scope="module")
def production() -> tuple[AuditedAurora, Template]:
    return _build(PRODUCTION)


def _resource(template: Template, construct: Any) -> dict[str, Any]:
    return template.to_json()["Resources"][logical_id(construct)]  # type: ignore[no-any-return]


def test_phi_tag_on_the_cluster_its_instances_and_master_secret_only(production: tuple[AuditedAurora, Template]) -> None:
    aurora, template = production
    tagged = {"Resource", "Writer", "Reader", "Secret"}
    for part in tagged:
        assert tags(_resource(template, aurora.cluster.node.find_child(part)))["data-class"] == "phi", part
    plumbing = [aurora.parameter_group, aurora.log_group, aurora.monitoring_role, aurora.cluster.node.find_child("Subnets")]
    for construct in plumbing:
        assert "data-class" not in tags(_resource(template, construct)), construct.node.path


def test_backup_false_positive_acknowledged_on_the_instances_not_the_cluster(production: tuple[AuditedAurora, Template]) -> None:
    aurora, template = production
    for instance in ("Writer", "Reader"):
        reason = acknowledged(template, logical_id(aurora.cluster.node.find_child(instance)))["HIPAA.Security-RDSInBackupPlan"]
        assert "backed up per cluster" in reason
    assert "HIPAA.Security-RDSInBackupPlan" not in acknowledged(template, logical_id(aurora.cluster))


def test_deletion_protection_acknowledged_only_where_it_is_off(production: tuple[AuditedAurora, Template]) -> None:
    rules = {"AwsSolutions-RDS10", "HIPAA.Security-RDSInstanceDeletionProtectionEnabled"}
    aurora, template = production
    assert _resource(template, aurora.cluster)["Properties"]["DeletionProtection"] is True
    assert not rules & set(acknowledged(template, logical_id(aurora.cluster)))
    sandbox, template = _build(SANDBOX)
    assert _resource(template, sandbox.cluster)["Properties"]["DeletionProtection"] is False
    assert rules <= set(acknowledged(template, logical_id(sandbox.cluster)))


def test_traces_follow_the_settings(production: tuple[AuditedAurora, Template]) -> None:
    aurora, _ = production
    [first, second] = traces(aurora)
    assert first["requirements"] == ["R6", "R10"] and "rotated every 30 days" in first["why"]
    assert second["why"].endswith("instead of an always-on instance size.")
    sandbox, _ = _build(SANDBOX)
    assert traces(sandbox)[1]["why"].endswith("it pauses at 0 ACU after 10 idle minutes.")
