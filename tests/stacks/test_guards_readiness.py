"""The deployed DR-readiness thresholds are the configured 26 h / 30 h (issue 19, "Tests that catch bugs").

The readiness function reads them from its environment, and Backup Audit Manager's
BACKUP_LAST_RECOVERY_POINT_CREATED control checks the primary one (AWS Backup Developer Guide,
"Choosing your controls", https://docs.aws.amazon.com/aws-backup/latest/devguide/controls-and-remediation.html).
The logic at the boundary is tested in tests/lambda/test_guards_readiness.py.
"""

from __future__ import annotations

import pytest

from tests.stacks.guard_stage import resources, templates

pytestmark = pytest.mark.requirements("R15")


@pytest.mark.parametrize("environment", ["production", "sandbox"])
def test_readiness_function_gets_the_thresholds(environment: str) -> None:
    [fn] = [f for f in resources(templates(environment)["Backup"], "AWS::Lambda::Function").values()
            if "PRIMARY_MAX_AGE_HOURS" in f["Properties"].get("Environment", {}).get("Variables", {})]  # fmt: skip
    variables = fn["Properties"]["Environment"]["Variables"]
    assert (variables["PRIMARY_MAX_AGE_HOURS"], variables["COPY_MAX_AGE_HOURS"]) == ("26", "30")


def test_backup_audit_framework_checks_the_primary_threshold() -> None:
    [framework] = resources(templates("production")["Backup"], "AWS::Backup::Framework").values()
    [control] = [c for c in framework["Properties"]["FrameworkControls"] if c["ControlName"] == "BACKUP_LAST_RECOVERY_POINT_CREATED"]
    assert sorted((p["ParameterName"], p["ParameterValue"]) for p in control["ControlInputParameters"]) == [
        ("recoveryPointAgeUnit", "hours"),
        ("recoveryPointAgeValue", "26"),
    ]
