"""CloudFormation custom resource: a recurring Macie sensitive-data discovery job (R11).

CloudFormation invokes this function asynchronously and waits for a response PUT to the
pre-signed ``ResponseURL``. Every event that carries a ResponseURL gets exactly one response:
SUCCESS, or FAILED with the reason (so the stack rolls back with a readable message instead of
hanging for an hour). An event without a ResponseURL cannot be answered: it is logged as one
error line and dropped.

Layers: this module parses the event and answers; ``logic`` decides (create, replace, cancel);
``dal`` is the only module that calls Macie. No settings: the job comes with the request.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from mv_macie_job import dal
from mv_macie_job.logic import NO_JOB_PREFIX, Request, apply
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
        physical_id=str(raw_event.get("PhysicalResourceId") or ""),
        properties=raw_event.get("ResourceProperties"),
        old_properties=raw_event.get("OldResourceProperties"),
    )
    try:
        outcome, what = apply(request, dal.MacieJobs(dal.client()))
        logger.info(f"{request.request_type.lower()}: {what}", extra={"job_id": outcome.physical_id})
        status, reason, physical_id, data = "SUCCESS", "OK", outcome.physical_id, outcome.data
    except Exception as error:  # every failure must reach CloudFormation, or the stack hangs
        logger.exception("request failed", extra={"request_type": raw_event.get("RequestType")})
        status, reason, data = "FAILED", f"{type(error).__name__}: {error}", {}
        physical_id = request.physical_id or f"{NO_JOB_PREFIX}{request.request_id}"
    send_response(event, status=status, physical_id=physical_id, reason=reason, data=data)
    return {"Status": status, "PhysicalResourceId": physical_id}
