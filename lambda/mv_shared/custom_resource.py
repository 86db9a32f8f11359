"""CloudFormation custom resources: recognising the request and sending the one response.

CloudFormation invokes the function asynchronously and waits for a PUT of the response object to
the request's pre-signed S3 ``ResponseURL`` (request and response objects:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html). The
PUT carries an empty Content-Type (the URL is signed without one); Reason is cut to 1,000
characters so the 4 KB response limit is never reached by a long error.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent

from mv_shared.observability import logger

REASON_LIMIT = 1000


def is_request(raw_event: Any) -> bool:
    """The event can be answered: it is an object with a ResponseURL and a RequestId."""
    return isinstance(raw_event, dict) and bool(raw_event.get("ResponseURL")) and bool(raw_event.get("RequestId"))


def send_response(event: CloudFormationCustomResourceEvent, *, status: str, physical_id: str, reason: str, data: dict[str, str]) -> None:
    url = event.response_url
    if not url.startswith("https://"):
        raise ValueError("ResponseURL is not https")
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:REASON_LIMIT],
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
