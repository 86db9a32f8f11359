"""BackupJobFailures: one rule for backup, copy and restore job failures (each job type's own key)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from constructs.alert_topic import AlertTopic
from constructs.backup_job_alerts import BackupJobFailures

from tests.constructs.helpers import bare_stack, lid, resources

pytestmark = pytest.mark.requirements("R13", "R15")


def _matches(pattern: Any, value: Any) -> bool:
    """EventBridge matching for the subset this rule uses: exact-value lists, nested objects, ``$or``."""
    if isinstance(pattern, list):
        return value in pattern
    if not isinstance(value, dict):
        return False
    for key, sub in pattern.items():
        if key == "$or":
            if not any(_matches(branch, value) for branch in sub):
                return False
        elif key not in value or not _matches(sub, value[key]):
            return False
    return True


def _pattern() -> dict[str, Any]:
    stack = bare_stack()
    topic = AlertTopic(stack, "Notifications", display_name="t", key=kms.Key(stack, "Key"), emails=["ops@example.org"])
    rule = BackupJobFailures(stack, "JobFailures", topic=topic)
    props = resources(Template.from_stack(stack), "AWS::Events::Rule")[lid(rule)]["Properties"]
    assert lid(rule).startswith("JobFailures")  # a Rule subclass: the id it had as a plain rule
    assert props["Targets"][0]["Arn"] == {"Ref": lid(topic)}
    pattern: dict[str, Any] = props["EventPattern"]
    return pattern


def _event(detail_type: str, **detail: str) -> dict[str, Any]:
    return {"source": "aws.backup", "detail-type": detail_type, "detail": detail}


# Shapes from the AWS Backup devguide ("Monitoring AWS Backup events using Amazon EventBridge"): backup
# and copy jobs report detail.state, restore jobs detail.status.
FAILURES = [
    _event("Backup Job State Change", state="FAILED"),
    _event("Backup Job State Change", state="ABORTED"),
    _event("Backup Job State Change", state="EXPIRED"),
    _event("Backup Job State Change", state="PARTIAL"),
    _event("Copy Job State Change", state="FAILED"),
    _event("Copy Job State Change", state="PARTIAL"),
    _event("Restore Job State Change", status="FAILED"),
    _event("Restore Job State Change", status="ABORTED"),
]
NOT_NEWS = [
    _event("Backup Job State Change", state="COMPLETED"),
    _event("Backup Job State Change", state="RUNNING"),
    _event("Copy Job State Change", state="COMPLETED"),
    _event("Restore Job State Change", status="COMPLETED"),
    _event("Restore Job State Change", status="PENDING"),
    _event("Backup Vault State Change", state="FAILED"),
]


def test_every_failure_state_of_every_job_type_matches() -> None:
    pattern = _pattern()
    for event in FAILURES:
        assert _matches(pattern, event), event


def test_progress_and_success_do_not_page() -> None:
    pattern = _pattern()
    for event in NOT_NEWS:
        assert not _matches(pattern, event), event
