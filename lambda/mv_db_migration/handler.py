"""CloudFormation custom resource: run the schema migrations at deploy time (R6, R10).

CloudFormation invokes this function (asynchronously) when the ``Custom::DatabaseMigrations``
resource is created or its properties change. The function starts ONE Fargate task of the
migration task definition (the service image running ``python -m medivault_service.migrate`` as
the Aurora master user), waits until that task has stopped, and answers CloudFormation through
the pre-signed ``ResponseURL``: SUCCESS when the container exited 0, otherwise FAILED with the exit
code's meaning, ECS's stopped reason and the task's log stream, so the deploy stops (and rolls back)
before the service is updated. Polling happens within this one invocation (timeout 15 minutes);
if the task is still running when time is nearly up, it is stopped (each migration is one
transaction, so an interrupted one leaves nothing) and the deploy fails with that reason.

An event without a ResponseURL cannot be answered: it is logged as one error line and dropped.

AWS documentation relied on:
- Custom resources, request and response objects:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
- ECS RunTask (Fargate, awsvpc, clientToken idempotency) and DescribeTasks (stopCode,
  stoppedReason, containers[].exitCode):
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html
- iam:PassRole for the task's roles: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from mv_db_migration import dal
from mv_db_migration.logic import PHYSICAL_ID, InvalidProperties, MigrationTask, TaskOutcome, needs_run, outcome

logger = Logger()
tracer = Tracer()

REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
if not REGION:
    raise RuntimeError("mv_db_migration: AWS_REGION is not set")
ecs = boto3.client("ecs", region_name=REGION)

POLL_SECONDS = 10.0
# Left for StopTask and the response when the function's time runs out.
SAFETY_MARGIN_MS = 45_000


def send_response(event: CloudFormationCustomResourceEvent, status: str, reason: str, data: dict[str, str]) -> None:
    url = event.response_url
    if not url.startswith("https://"):
        raise ValueError("ResponseURL is not https")
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": PHYSICAL_ID,
            "StackId": event.stack_id,
            "RequestId": event.request_id,
            "LogicalResourceId": event.logical_resource_id,
            "NoEcho": False,
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (https checked above)
        logger.info("response sent", extra={"status": status, "http_status": response.status})


def wait_for(task: MigrationTask, task_arn: str, remaining_ms: Callable[[], int], sleep: Callable[[float], None] = time.sleep) -> TaskOutcome:
    while True:
        described = dal.describe_task(ecs, task.cluster_arn, task_arn)
        if described.get("lastStatus") == "STOPPED":
            return outcome(described, task)
        if remaining_ms() < SAFETY_MARGIN_MS:
            reason = "the migration task did not finish within the custom resource function's time"
            dal.stop_task(ecs, task.cluster_arn, task_arn, reason)
            return TaskOutcome(False, f"{reason}; task {task_arn} stopped (its running migration rolls back); log: {task.log_stream(task_arn)}")
        sleep(POLL_SECONDS)


def handle(event: CloudFormationCustomResourceEvent, remaining_ms: Callable[[], int]) -> tuple[TaskOutcome, dict[str, str]]:
    if event.request_type == "Delete":
        return TaskOutcome(True, "delete: nothing to do (the schema is never dropped by a stack change)"), {}
    task = MigrationTask.from_properties(event.resource_properties)
    if not needs_run(event.request_type, task, event.old_resource_properties):
        return TaskOutcome(True, "migration set unchanged: no task run"), {"MigrationsHash": task.migrations_hash}
    task_arn = dal.run_task(ecs, task.run_task_request(event.request_id))
    logger.info("migration task started", extra={"task_arn": task_arn, "migrations_hash": task.migrations_hash})
    result = wait_for(task, task_arn, remaining_ms)
    return result, {"TaskArn": task_arn, "MigrationsHash": task.migrations_hash}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(raw_event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    if not isinstance(raw_event, dict) or not raw_event.get("ResponseURL") or not raw_event.get("RequestId"):
        keys = sorted(raw_event) if isinstance(raw_event, dict) else type(raw_event).__name__
        logger.error("not a CloudFormation custom-resource event (no ResponseURL/RequestId); dropped", extra={"keys": keys})
        return {"Status": "DROPPED"}
    event = CloudFormationCustomResourceEvent(raw_event)
    try:
        result, data = handle(event, context.get_remaining_time_in_millis)
    except InvalidProperties as error:
        logger.error("invalid custom resource properties", extra={"error": str(error)})
        result, data = TaskOutcome(False, f"InvalidProperties: {error}"), {}
    except Exception as error:  # every failure must reach CloudFormation, or the stack hangs
        logger.exception("request failed", extra={"request_type": raw_event.get("RequestType")})
        result, data = TaskOutcome(False, f"{type(error).__name__}: {error}"), {}
    status = "SUCCESS" if result.succeeded else "FAILED"
    log = logger.info if result.succeeded else logger.error
    log("migration request done", extra={"status": status, "reason": result.reason})
    send_response(event, status, result.reason, data)
    return {"Status": status, "Reason": result.reason}
