"""CloudFormation custom resource: a recurring Macie sensitive-data discovery job (R11).

CloudFormation invokes this function asynchronously and waits for a response PUT to the
pre-signed ``ResponseURL``. Every event that carries a ResponseURL gets exactly one response:
SUCCESS, or FAILED with the reason (so the stack rolls back with a readable message instead of
hanging for an hour). An event without a ResponseURL cannot be answered: it is logged as one
error line and dropped.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from mv_macie_job.logic import NO_JOB_PREFIX, InvalidProperties, JobSpec, Outcome, cancel_job, create_job, update_job

logger = Logger()
tracer = Tracer()

REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
if not REGION:
    raise RuntimeError("mv_macie_job: AWS_REGION is not set")
macie = boto3.client("macie2", region_name=REGION)


def _is_not_found(error: Exception) -> bool:
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") == "ResourceNotFoundException"


def send_response(event: CloudFormationCustomResourceEvent, status: str, physical_id: str, reason: str, data: dict[str, str]) -> None:
    url = event.response_url
    if not url.startswith("https://"):
        raise ValueError("ResponseURL is not https")
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": physical_id,
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


def handle(event: CloudFormationCustomResourceEvent) -> Outcome:
    request_type = event.request_type
    if request_type == "Delete":
        result = cancel_job(macie, event.physical_resource_id, _is_not_found)
        logger.info("delete", extra={"job_id": event.physical_resource_id, "result": result})
        return Outcome(physical_id=event.physical_resource_id, data={})
    spec = JobSpec.from_properties(event.resource_properties)
    if request_type == "Create":
        outcome = create_job(macie, spec, event.request_id)
    elif request_type == "Update":
        try:
            old_spec: JobSpec | None = JobSpec.from_properties(event.old_resource_properties)
        except InvalidProperties:
            old_spec = None
        outcome = update_job(macie, spec, old_spec, event.physical_resource_id, event.request_id)
    else:
        raise InvalidProperties(f"unknown RequestType {request_type!r}")
    logger.info(request_type.lower(), extra={"job_id": outcome.physical_id})
    return outcome


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(raw_event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    if not isinstance(raw_event, dict) or not raw_event.get("ResponseURL") or not raw_event.get("RequestId"):
        keys = sorted(raw_event) if isinstance(raw_event, dict) else type(raw_event).__name__
        logger.error("not a CloudFormation custom-resource event (no ResponseURL/RequestId); dropped", extra={"keys": keys})
        return {"Status": "DROPPED"}
    event = CloudFormationCustomResourceEvent(raw_event)
    try:
        outcome = handle(event)
        status, reason, physical_id, data = "SUCCESS", "OK", outcome.physical_id, outcome.data
    except Exception as error:  # every failure must reach CloudFormation, or the stack hangs
        logger.exception("request failed", extra={"request_type": raw_event.get("RequestType")})
        status, reason, data = "FAILED", f"{type(error).__name__}: {error}", {}
        physical_id = raw_event.get("PhysicalResourceId") or f"{NO_JOB_PREFIX}{raw_event['RequestId']}"
    send_response(event, status, physical_id, reason, data)
    return {"Status": status, "PhysicalResourceId": physical_id}
