"""The database-migration custom resource, without AWS: what a CloudFormation request asks for,
whether it runs the migration task, and what a stopped task means.

- Create: run the migration task once.
- Update: run it again only when the migration set changed (``MigrationsHash``), when the database
  is another one (``DatabaseResourceId``: a replaced cluster starts empty), or when the old
  properties are unreadable; any other change (a new task definition revision for a new image,
  new subnets) is answered without a run, since the migrations the database has are the same.
  A CloudFormation rollback sends the old properties back: the previous image's task then runs,
  finds every migration it knows applied, and succeeds (migrations are forward-only).
- Delete: nothing. Dropping the schema of patient records is never a side effect of a stack change.
The task is ``python -m medivault_service.migrate`` of the service image; its exit codes are those
of service/medivault_service/migrate.py (kept equal by a test).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from mv_shared.observability import logger

PHYSICAL_ID = "medivault-db-migrations"
POLL_SECONDS = 10.0
# Left for StopTask and the response when the function's time runs out.
SAFETY_MARGIN_MS = 45_000
EXPECTED_HASH_VARIABLE = "EXPECTED_MIGRATIONS_HASH"
EXIT_CODES = {
    0: "migrations applied",
    1: "a migration failed and was rolled back",
    2: "bad configuration (environment or master secret)",
    3: "the migration set is invalid, or not the one this deployment expects",
    4: "could not connect or log in to the database as the master user",
}
_ARN = re.compile(r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:")
_HASH = re.compile(r"^[0-9a-f]{64}$")


class InvalidProperties(ValueError):
    """The custom resource's properties do not describe a migration task (a template bug)."""


@dataclass(frozen=True)
class MigrationTask:
    cluster_arn: str
    task_definition_arn: str
    container_name: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    migrations_hash: str
    database_resource_id: str
    log_group: str
    log_stream_prefix: str

    @classmethod
    def from_properties(cls, properties: dict[str, Any] | None) -> MigrationTask:
        if not isinstance(properties, dict):
            raise InvalidProperties("ResourceProperties is missing")
        try:
            task = cls(
                cluster_arn=str(properties["ClusterArn"]),
                task_definition_arn=str(properties["TaskDefinitionArn"]),
                container_name=str(properties["ContainerName"]),
                subnets=tuple(str(s) for s in properties["Subnets"]),
                security_groups=tuple(str(g) for g in properties["SecurityGroups"]),
                migrations_hash=str(properties["MigrationsHash"]),
                database_resource_id=str(properties["DatabaseResourceId"]),
                log_group=str(properties["LogGroupName"]),
                log_stream_prefix=str(properties["LogStreamPrefix"]),
            )
        except (KeyError, TypeError) as error:
            raise InvalidProperties(f"missing or malformed property: {error}") from None
        if not _ARN.match(task.cluster_arn) or ":cluster/" not in task.cluster_arn:
            raise InvalidProperties(f"ClusterArn {task.cluster_arn!r} is not an ECS cluster ARN")
        if not _ARN.match(task.task_definition_arn) or ":task-definition/" not in task.task_definition_arn:
            raise InvalidProperties(f"TaskDefinitionArn {task.task_definition_arn!r} is not an ECS task definition ARN")
        if not task.subnets or not all(s.startswith("subnet-") for s in task.subnets):
            raise InvalidProperties("Subnets must be a non-empty list of subnet IDs")
        if not task.security_groups or not all(g.startswith("sg-") for g in task.security_groups):
            raise InvalidProperties("SecurityGroups must be a non-empty list of security group IDs")
        if not _HASH.match(task.migrations_hash):
            raise InvalidProperties("MigrationsHash must be a SHA-256 hex digest")
        if not task.database_resource_id.startswith("cluster-"):
            raise InvalidProperties(f"DatabaseResourceId {task.database_resource_id!r} is not an Aurora cluster resource ID")
        if not task.container_name:
            raise InvalidProperties("ContainerName is empty")
        return task

    def run_task_request(self, client_token: str) -> dict[str, Any]:
        """Parameters of ECS RunTask: one Fargate task in the app subnets, no public IP, the
        expected migration-set hash as the only override. ``client_token`` (the CloudFormation
        request ID) makes a retried invocation get the same task, not a second one."""
        return {
            "cluster": self.cluster_arn,
            "taskDefinition": self.task_definition_arn,
            "launchType": "FARGATE",
            "platformVersion": "LATEST",
            "count": 1,
            "startedBy": "cfn-db-migration",
            "clientToken": client_token[:64],
            "networkConfiguration": {
                "awsvpcConfiguration": {"subnets": list(self.subnets), "securityGroups": list(self.security_groups), "assignPublicIp": "DISABLED"}
            },
            "overrides": {"containerOverrides": [{"name": self.container_name, "environment": [self._expected_hash()]}]},
        }

    def _expected_hash(self) -> dict[str, str]:
        return {"name": EXPECTED_HASH_VARIABLE, "value": self.migrations_hash}

    def log_stream(self, task_arn: str) -> str:
        return f"{self.log_group}:{self.log_stream_prefix}/{self.container_name}/{task_arn.rsplit('/', 1)[-1]}"


def needs_run(request_type: str, new: MigrationTask, old_properties: dict[str, Any] | None) -> bool:
    if request_type == "Create":
        return True
    if request_type == "Update":
        try:
            old = MigrationTask.from_properties(old_properties)
        except InvalidProperties:
            return True
        return (old.migrations_hash, old.database_resource_id) != (new.migrations_hash, new.database_resource_id)
    raise InvalidProperties(f"unknown RequestType {request_type!r}")


@dataclass(frozen=True)
class TaskOutcome:
    succeeded: bool
    reason: str


def outcome(task: dict[str, Any], request: MigrationTask) -> TaskOutcome:
    """What a STOPPED task description (ECS DescribeTasks) means for the deployment."""
    arn = str(task.get("taskArn", "?"))
    containers = [c for c in task.get("containers", []) if c.get("name") == request.container_name]
    exit_code = containers[0].get("exitCode") if containers else None
    if exit_code == 0:
        return TaskOutcome(True, f"migration task {arn} exited 0: {EXIT_CODES[0]}")
    stopped = str(task.get("stoppedReason") or task.get("stopCode") or "no reason given")
    container_reason = str(containers[0].get("reason", "")) if containers else ""
    if exit_code is None:
        detail = f"the container never ran ({container_reason or stopped})"
    else:
        detail = f"exit code {exit_code}: {EXIT_CODES.get(int(exit_code), 'unexpected exit code')}"
    return TaskOutcome(False, f"migration task {arn} failed, {detail}; stopped reason: {stopped}; log: {request.log_stream(arn)}")


class Tasks(Protocol):
    """What the migration needs of ECS (dal.EcsTasks)."""

    def run(self, request: dict[str, Any]) -> str: ...
    def describe(self, cluster: str, task_arn: str) -> dict[str, Any]: ...
    def stop(self, cluster: str, task_arn: str, reason: str) -> None: ...


@dataclass(frozen=True)
class Request:
    """The parts of a CloudFormation request the migration decides on."""

    request_type: str
    request_id: str
    properties: dict[str, Any] | None
    old_properties: dict[str, Any] | None


def wait_for(
    tasks: Tasks, task: MigrationTask, task_arn: str, remaining_ms: Callable[[], int], sleep: Callable[[float], None] = time.sleep
) -> TaskOutcome:
    while True:
        described = tasks.describe(task.cluster_arn, task_arn)
        if described.get("lastStatus") == "STOPPED":
            return outcome(described, task)
        if remaining_ms() < SAFETY_MARGIN_MS:
            reason = "the migration task did not finish within the custom resource function's time"
            tasks.stop(task.cluster_arn, task_arn, reason)
            return TaskOutcome(False, f"{reason}; task {task_arn} stopped (its running migration rolls back); log: {task.log_stream(task_arn)}")
        sleep(POLL_SECONDS)


def apply(
    request: Request, tasks: Tasks, remaining_ms: Callable[[], int], sleep: Callable[[float], None] = time.sleep
) -> tuple[TaskOutcome, dict[str, str]]:
    """Carry out one request: the outcome and the response Data."""
    if request.request_type == "Delete":
        return TaskOutcome(True, "delete: nothing to do (the schema is never dropped by a stack change)"), {}
    task = MigrationTask.from_properties(request.properties)
    if not needs_run(request.request_type, task, request.old_properties):
        return TaskOutcome(True, "migration set unchanged: no task run"), {"MigrationsHash": task.migrations_hash}
    task_arn = tasks.run(task.run_task_request(request.request_id))
    logger.info("migration task started", extra={"task_arn": task_arn, "migrations_hash": task.migrations_hash})
    result = wait_for(tasks, task, task_arn, remaining_ms, sleep)
    return result, {"TaskArn": task_arn, "MigrationsHash": task.migrations_hash}
