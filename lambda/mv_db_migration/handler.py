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

Layers: this module parses the event and answers CloudFormation; ``logic`` decides (run or not,
what a stopped task means); ``dal`` is the only module that calls ECS. The function has no settings
of its own: everything comes with the request's properties. The function never reads the database
secret (the task does, through ECS's secrets injection); nothing it logs comes from the task's
environment.

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

import time
from typing import Any

from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from mv_db_migration import dal
from mv_db_migration.logic import PHYSICAL_ID, InvalidProperties, Request, TaskOutcome, apply
from mv_shared.custom_resource import is_request, send_response
from mv_shared.observability import logger, reject, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(raw_event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    if not is_request(raw_event):
        reject("not a CloudFormation custom-resource event (no ResponseURL/RequestId); dropped", raw_event)
        return {"Status": "DROPPED"}
    event = CloudFormationCustomResourceEvent(raw_event)
    request = Request(
        request_type=event.request_type,
        request_id=event.request_id,
        properties=raw_event.get("ResourceProperties"),
        old_properties=raw_event.get("OldResourceProperties"),
    )
    try:
        result, data = apply(request, dal.EcsTasks(dal.client()), context.get_remaining_time_in_millis, time.sleep)
    except InvalidProperties as error:
        logger.error("invalid custom resource properties", extra={"error": str(error)})
        result, data = TaskOutcome(False, f"InvalidProperties: {error}"), {}
    except Exception as error:  # every failure must reach CloudFormation, or the stack hangs
        logger.exception("request failed", extra={"request_type": raw_event.get("RequestType")})
        result, data = TaskOutcome(False, f"{type(error).__name__}: {error}"), {}
    status = "SUCCESS" if result.succeeded else "FAILED"
    log = logger.info if result.succeeded else logger.error
    log("migration request done", extra={"status": status, "reason": result.reason})
    send_response(event, status=status, physical_id=PHYSICAL_ID, reason=result.reason, data=data)
    return {"Status": status, "Reason": result.reason}
