"""BackupAuditFramework: fixed-name framework, its id and controls."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template
from constructs.backup_audit_framework import BackupAuditFramework, BackupFrameworkSettings

from tests.constructs.helpers import bare_stack, resources

pytestmark = pytest.mark.requirements("R14", "R15")


def test_framework_keeps_its_id_and_checks_the_configured_limits() -> None:
    stack = bare_stack()
    BackupAuditFramework(
        stack,
        "Framework",
        settings=BackupFrameworkSettings(
            name="medivault_production_backup",
            description="d",
            daily_retention_days=35,
            vault_lock_min_retention_days=35,
            vault_lock_max_retention_days=3653,
            dr_region="eu-west-1",
            max_recovery_point_age_hours=26,
        ),
    )
    [(logical_id, framework)] = resources(Template.from_stack(stack), "AWS::Backup::Framework").items()
    assert logical_id == "Framework"  # fixed name: a new logical ID would fail the deploy
    controls = {c["ControlName"]: c for c in framework["Properties"]["FrameworkControls"]}
    assert len(controls) == 8

    def params(name: str) -> dict[str, str]:
        return {p["ParameterName"]: p["ParameterValue"] for p in controls[name].get("ControlInputParameters", [])}

    assert params("BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK") == {"minRetentionDays": "35", "maxRetentionDays": "3653"}
    assert params("BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION") == {"crossRegionList": "eu-west-1"}
    assert params("BACKUP_LAST_RECOVERY_POINT_CREATED") == {"recoveryPointAgeUnit": "hours", "recoveryPointAgeValue": "26"}
    assert params("BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK")["requiredRetentionDays"] == "35"
