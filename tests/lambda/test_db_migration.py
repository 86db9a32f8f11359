"""The database-migration custom resource: Create/Update/Delete, task outcomes, timeouts, bad events.

ECS is stubbed with ``botocore.stub.Stubber`` (each call's parameters are validated against the
ECS API model and asserted): moto 5.2.5's Fargate RunTask with an awsvpc network configuration
raises ``AttributeError: 'NetworkInterface' object has no attribute 'private_dns_name'``, and moto
never sets a container ``exitCode`` in DescribeTasks, which is what the function judges a run by.
The CloudFormation response PUT is captured by replacing ``urlopen``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import Stubber

from mv_db_migration import dal

pytestmark = pytest.mark.requirements("R6", "R10")

CLUSTER = "arn:aws:ecs:eu-central-1:123456789012:cluster/Sandbox-App-Cluster"
TASK_DEFINITION = "arn:aws:ecs:eu-central-1:123456789012:task-definition/SandboxAppMigrationTask:7"
TASK = "arn:aws:ecs:eu-central-1:123456789012:task/Sandbox-App-Cluster/0123456789abcdef0123456789abcdef"
HASH = "a" * 64
REQUEST_ID = "11111111-2222-3333-4444-555555555555"
PROPS = {
    "ServiceToken": "arn:aws:lambda:eu-central-1:123456789012:function:x",
    "ClusterArn": CLUSTER,
    "TaskDefinitionArn": TASK_DEFINITION,
    "ContainerName": "migrate",
    "Subnets": ["subnet-0a", "subnet-0b"],
    "SecurityGroups": ["sg-0migration"],
    "MigrationsHash": HASH,
    "DatabaseResourceId": "cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0",
    "LogGroupName": "Sandbox-App-ServiceLogs",
    "LogStreamPrefix": "migrate",
}


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "mv_db_migration")
    module = importlib.import_module("mv_db_migration.handler")
    monkeypatch.setattr(module.time, "sleep", lambda seconds: None)
    yield module


class _Context:
    function_name = "mv_db_migration"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:mv_db_migration"
    aws_request_id = "req"

    def __init__(self, remaining_ms: list[int] | None = None) -> None:
        self._remaining = remaining_ms or [900_000]

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining.pop(0) if len(self._remaining) > 1 else self._remaining[0]


def _event(request_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response-eucentral1.s3.amazonaws.com/x?sig=1",
        "StackId": "arn:aws:cloudformation:eu-central-1:123456789012:stack/Sandbox-App/guid",
        "RequestId": REQUEST_ID,
        "LogicalResourceId": "DatabaseMigrations",
        "ResourceType": "Custom::DatabaseMigrations",
        "ResourceProperties": PROPS,
        **extra,
    }


def _expect_run(stub: Stubber, migrations_hash: str = HASH) -> None:
    stub.add_response(
        "run_task",
        {"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}], "failures": []},
        {
            "cluster": CLUSTER,
            "taskDefinition": TASK_DEFINITION,
            "launchType": "FARGATE",
            "platformVersion": "LATEST",
            "count": 1,
            "startedBy": "cfn-db-migration",
            "clientToken": REQUEST_ID,
            "networkConfiguration": {
                "awsvpcConfiguration": {"subnets": ["subnet-0a", "subnet-0b"], "securityGroups": ["sg-0migration"], "assignPublicIp": "DISABLED"}
            },
            "overrides": {
                "containerOverrides": [{"name": "migrate", "environment": [{"name": "EXPECTED_MIGRATIONS_HASH", "value": migrations_hash}]}]
            },
        },
    )


def _expect_describe(stub: Stubber, status: str, **task: Any) -> None:
    described = {"tasks": [{"taskArn": TASK, "lastStatus": status, **task}], "failures": []}
    stub.add_response("describe_tasks", described, {"cluster": CLUSTER, "tasks": [TASK]})


def _stopped(exit_code: int | None, reason: str = "Essential container in task exited", container_reason: str | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "migrate", "lastStatus": "STOPPED"}
    if exit_code is not None:
        container["exitCode"] = exit_code
    if container_reason:
        container["reason"] = container_reason
    return {"stopCode": "EssentialContainerExited", "stoppedReason": reason, "containers": [container]}


def test_create_runs_the_task_and_succeeds_on_exit_0(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    with Stubber(dal.client()) as stub:
        _expect_run(stub)
        _expect_describe(stub, "PENDING")
        _expect_describe(stub, "RUNNING")
        _expect_describe(stub, "STOPPED", **_stopped(0))
        result = handler.lambda_handler(_event("Create"), _Context())
        stub.assert_no_pending_responses()
    assert result["Status"] == "SUCCESS"
    (response,) = responses
    assert (response["Status"], response["PhysicalResourceId"], response["RequestId"]) == ("SUCCESS", "medivault-db-migrations", REQUEST_ID)
    assert response["Data"] == {"TaskArn": TASK, "MigrationsHash": HASH}


@pytest.mark.parametrize(
    ("exit_code", "meaning"),
    [(1, "a migration failed and was rolled back"), (3, "not the one this deployment expects"), (4, "as the master user"), (137, "unexpected")],
)
def test_a_failed_migration_fails_the_deploy_with_code_reason_and_log(
    handler: ModuleType, responses: list[dict[str, Any]], exit_code: int, meaning: str
) -> None:
    with Stubber(dal.client()) as stub:
        _expect_run(stub)
        _expect_describe(stub, "STOPPED", **_stopped(exit_code))
        handler.lambda_handler(_event("Create"), _Context())
    (response,) = responses
    assert response["Status"] == "FAILED"
    reason = response["Reason"]
    assert f"exit code {exit_code}" in reason and meaning in reason and "Essential container in task exited" in reason
    assert "Sandbox-App-ServiceLogs:migrate/migrate/0123456789abcdef0123456789abcdef" in reason


def test_a_task_that_never_ran_reports_why(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    with Stubber(dal.client()) as stub:
        _expect_run(stub)
        _expect_describe(
            stub, "STOPPED", **_stopped(None, reason="Task failed to start", container_reason="CannotPullContainerError: pull access denied")
        )
        handler.lambda_handler(_event("Create"), _Context())
    assert responses[0]["Status"] == "FAILED"
    assert "never ran (CannotPullContainerError: pull access denied)" in responses[0]["Reason"]


def test_run_task_failures_fail_the_deploy(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    with Stubber(dal.client()) as stub:
        stub.add_response("run_task", {"tasks": [], "failures": [{"arn": TASK_DEFINITION, "reason": "RESOURCE:ENI", "detail": "no free ENI"}]}, None)
        handler.lambda_handler(_event("Create"), _Context())
        stub.assert_no_pending_responses()
    assert responses[0]["Status"] == "FAILED" and "RESOURCE:ENI" in responses[0]["Reason"]


def test_run_task_access_denied_is_reported(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    with Stubber(dal.client()) as stub:
        stub.add_client_error("run_task", service_error_code="AccessDeniedException", service_message="not authorized to iam:PassRole")
        handler.lambda_handler(_event("Create"), _Context())
    assert responses[0]["Status"] == "FAILED" and "iam:PassRole" in responses[0]["Reason"]


def test_update_with_the_same_migrations_runs_nothing(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    """A new image (new task definition revision) with the same migration set: no task."""
    old = {**PROPS, "TaskDefinitionArn": TASK_DEFINITION.replace(":7", ":6")}
    with Stubber(dal.client()) as stub:  # any ECS call would fail: no response is queued
        handler.lambda_handler(_event("Update", PhysicalResourceId="medivault-db-migrations", OldResourceProperties=old), _Context())
        stub.assert_no_pending_responses()
    assert responses[0]["Status"] == "SUCCESS" and "unchanged" in responses[0]["Reason"]


@pytest.mark.parametrize("changed", [{"MigrationsHash": "b" * 64}, {"DatabaseResourceId": "cluster-REPLACEDCLUSTER0000000000"}])
def test_update_with_changed_migrations_or_a_replaced_database_runs_the_task(
    handler: ModuleType, responses: list[dict[str, Any]], changed: dict[str, str]
) -> None:
    old = {**PROPS, **changed}
    with Stubber(dal.client()) as stub:
        _expect_run(stub)
        _expect_describe(stub, "STOPPED", **_stopped(0))
        handler.lambda_handler(_event("Update", PhysicalResourceId="medivault-db-migrations", OldResourceProperties=old), _Context())
        stub.assert_no_pending_responses()
    assert responses[0]["Status"] == "SUCCESS" and responses[0]["PhysicalResourceId"] == "medivault-db-migrations"


def test_delete_drops_nothing_and_calls_nothing(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    with Stubber(dal.client()) as stub:
        handler.lambda_handler(_event("Delete", PhysicalResourceId="medivault-db-migrations"), _Context())
        stub.assert_no_pending_responses()
    assert responses[0]["Status"] == "SUCCESS"


def test_a_task_still_running_when_time_runs_out_is_stopped_and_fails(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    with Stubber(dal.client()) as stub:
        _expect_run(stub)
        _expect_describe(stub, "RUNNING")
        _expect_describe(stub, "RUNNING")
        stub.add_response(
            "stop_task",
            {"task": {"taskArn": TASK}},
            {"cluster": CLUSTER, "task": TASK, "reason": "the migration task did not finish within the custom resource function's time"},
        )
        handler.lambda_handler(_event("Create"), _Context([120_000, 40_000]))
        stub.assert_no_pending_responses()
    assert responses[0]["Status"] == "FAILED" and "did not finish" in responses[0]["Reason"]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"MigrationsHash": "short"}, "MigrationsHash"),
        ({"Subnets": []}, "Subnets"),
        ({"SecurityGroups": ["default"]}, "SecurityGroups"),
        ({"ClusterArn": "Sandbox-App-Cluster"}, "ClusterArn"),
        ({"TaskDefinitionArn": "arn:aws:ecs:eu-central-1:123456789012:service/x"}, "TaskDefinitionArn"),
        ({"ContainerName": None}, "ContainerName"),
        ({"DatabaseResourceId": "db-1234"}, "DatabaseResourceId"),
    ],
)
def test_malformed_properties_fail_clearly_without_calling_ecs(
    handler: ModuleType, responses: list[dict[str, Any]], changes: dict[str, Any], problem: str
) -> None:
    properties = {k: v for k, v in {**PROPS, **changes}.items() if v is not None}
    with Stubber(dal.client()) as stub:
        handler.lambda_handler({**_event("Create"), "ResourceProperties": properties}, _Context())
        stub.assert_no_pending_responses()
    assert responses[0]["Status"] == "FAILED" and problem in responses[0]["Reason"]


@pytest.mark.parametrize("event", [{}, {"RequestType": "Create"}, {"detail-type": "Scheduled Event"}, []])
def test_events_without_a_response_url_are_dropped(handler: ModuleType, responses: list[dict[str, Any]], event: Any) -> None:
    with Stubber(dal.client()) as stub:
        assert handler.lambda_handler(event, _Context()) == {"Status": "DROPPED"}
        stub.assert_no_pending_responses()
    assert responses == []


def test_exit_code_meanings_match_the_migration_program() -> None:
    from medivault_service import migrate  # service/ is on pytest's pythonpath

    from mv_db_migration.logic import EXIT_CODES

    codes = {name: value for name, value in vars(migrate).items() if name.startswith("EXIT_")}
    assert sorted(codes.values()) == sorted(EXIT_CODES)
    assert "failed" in EXIT_CODES[migrate.EXIT_MIGRATION_FAILED] and "expects" in EXIT_CODES[migrate.EXIT_BAD_MIGRATION_SET]
