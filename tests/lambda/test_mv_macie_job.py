"""The Macie classification-job custom resource: Create, Update, Delete, failures, bad events.

moto 5.2.5 does not implement Macie2 classification jobs, so the Macie client is stubbed with
``botocore.stub.Stubber`` (every call and its parameters are asserted). The CloudFormation
response PUT is captured by replacing ``urlopen``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import Stubber

from mv_macie_job import dal

pytestmark = pytest.mark.requirements("R11")

JOB_ID = "0123456789abcdef0123456789abcdef"
NEW_JOB_ID = "fedcba9876543210fedcba9876543210"
PROPS = {
    "ServiceToken": "arn:aws:lambda:eu-central-1:123456789012:function:x",
    "JobNamePrefix": "medivault-sandbox-non-phi-discovery",
    "Description": "weekly",
    "AccountId": "123456789012",
    "BucketNames": ["access-logs-bucket"],
    "CustomDataIdentifierIds": ["cdi-1"],
    "ScheduleDayOfWeek": "MONDAY",
}


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    # Credentials, region and X-Ray off come from tests/lambda/conftest.py (autouse).
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "mv_macie_job")
    module = importlib.import_module("mv_macie_job.handler")
    yield module


class _Context:
    function_name = "mv_macie_job"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:mv_macie_job"
    aws_request_id = "req"


def _event(request_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response-eucentral1.s3.amazonaws.com/x?sig=1",
        "StackId": "arn:aws:cloudformation:eu-central-1:123456789012:stack/Sandbox-Data/guid",
        "RequestId": "11111111-2222-3333-4444-555555555555",
        "LogicalResourceId": "MacieClassificationJob",
        "ResourceType": "Custom::MacieClassificationJob",
        "ResourceProperties": PROPS,
        **extra,
    }


def _expect_create(stub: Stubber, job_id: str) -> None:
    stub.add_response(
        "create_classification_job",
        {"jobId": job_id, "jobArn": f"arn:aws:macie2:eu-central-1:123456789012:classification-job/{job_id}"},
        {
            "clientToken": "11111111-2222-3333-4444-555555555555",
            "name": "medivault-sandbox-non-phi-discovery-555555555555",
            "description": "weekly",
            "jobType": "SCHEDULED",
            "initialRun": True,
            "scheduleFrequency": {"weeklySchedule": {"dayOfWeek": "MONDAY"}},
            "s3JobDefinition": {"bucketDefinitions": [{"accountId": "123456789012", "buckets": ["access-logs-bucket"]}]},
            "customDataIdentifierIds": ["cdi-1"],
            "managedDataIdentifierSelector": "RECOMMENDED",
            "samplingPercentage": 100,
        },
    )


def test_create_makes_a_weekly_job_over_the_given_buckets(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    with Stubber(dal.client()) as stub:
        _expect_create(stub, JOB_ID)
        result = handler.lambda_handler(_event("Create"), _Context())
        stub.assert_no_pending_responses()
    assert result == {"Status": "SUCCESS", "PhysicalResourceId": JOB_ID}
    (response,) = responses
    assert response["Status"] == "SUCCESS" and response["PhysicalResourceId"] == JOB_ID
    assert response["Data"]["JobId"] == JOB_ID
    assert response["RequestId"] == "11111111-2222-3333-4444-555555555555"


def test_update_with_a_changed_definition_creates_a_new_job(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    old = {**PROPS, "BucketNames": ["another-bucket"]}
    with Stubber(dal.client()) as stub:
        _expect_create(stub, NEW_JOB_ID)
        handler.lambda_handler(_event("Update", PhysicalResourceId=JOB_ID, OldResourceProperties=old), _Context())
        stub.assert_no_pending_responses()
    # A new physical ID: CloudFormation will send Delete for the old job (which cancels it).
    assert responses[0]["Status"] == "SUCCESS" and responses[0]["PhysicalResourceId"] == NEW_JOB_ID


def test_update_without_a_change_keeps_the_job(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    with Stubber(dal.client()) as stub:  # no Macie call expected at all
        handler.lambda_handler(_event("Update", PhysicalResourceId=JOB_ID, OldResourceProperties=dict(PROPS)), _Context())
        stub.assert_no_pending_responses()
    assert responses[0]["PhysicalResourceId"] == JOB_ID and responses[0]["Status"] == "SUCCESS"


def test_delete_cancels_a_running_job(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    with Stubber(dal.client()) as stub:
        stub.add_response("describe_classification_job", {"jobId": JOB_ID, "jobStatus": "IDLE"}, {"jobId": JOB_ID})
        stub.add_response("update_classification_job", {}, {"jobId": JOB_ID, "jobStatus": "CANCELLED"})
        handler.lambda_handler(_event("Delete", PhysicalResourceId=JOB_ID), _Context())
        stub.assert_no_pending_responses()
    assert responses[0]["Status"] == "SUCCESS" and responses[0]["PhysicalResourceId"] == JOB_ID


@pytest.mark.parametrize("status", ["CANCELLED", "COMPLETE"])
def test_delete_of_a_finished_job_succeeds_without_a_call(handler: ModuleType, responses: list[dict[str, Any]], status: str) -> None:
    with Stubber(dal.client()) as stub:
        stub.add_response("describe_classification_job", {"jobId": JOB_ID, "jobStatus": status}, {"jobId": JOB_ID})
        handler.lambda_handler(_event("Delete", PhysicalResourceId=JOB_ID), _Context())
        stub.assert_no_pending_responses()
    assert responses[0]["Status"] == "SUCCESS"


def test_delete_of_a_vanished_job_does_not_fail_the_stack(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    with Stubber(dal.client()) as stub:
        stub.add_client_error("describe_classification_job", service_error_code="ResourceNotFoundException", http_status_code=404)
        handler.lambda_handler(_event("Delete", PhysicalResourceId=JOB_ID), _Context())
    assert responses[0]["Status"] == "SUCCESS"


def test_delete_after_a_failed_create_calls_nothing(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    with Stubber(dal.client()) as stub:
        handler.lambda_handler(_event("Delete", PhysicalResourceId="no-job-11111111"), _Context())
        stub.assert_no_pending_responses()
    assert responses[0]["Status"] == "SUCCESS"


def test_other_delete_errors_are_reported_as_failed(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    with Stubber(dal.client()) as stub:
        stub.add_client_error("describe_classification_job", service_error_code="AccessDeniedException", http_status_code=403)
        handler.lambda_handler(_event("Delete", PhysicalResourceId=JOB_ID), _Context())
    assert responses[0]["Status"] == "FAILED" and "AccessDenied" in responses[0]["Reason"]


def test_create_failure_is_reported_with_a_placeholder_id(handler: ModuleType, responses: list[dict[str, Any]]) -> None:
    with Stubber(dal.client()) as stub:
        stub.add_client_error(
            "create_classification_job", service_error_code="ValidationException", service_message="bucket not found", http_status_code=400
        )
        result = handler.lambda_handler(_event("Create"), _Context())
    assert result["Status"] == "FAILED"
    assert responses[0]["Status"] == "FAILED" and "bucket not found" in responses[0]["Reason"]
    assert responses[0]["PhysicalResourceId"] == "no-job-11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize(
    ("properties", "problem"),
    [
        ({**PROPS, "BucketNames": []}, "BucketNames is empty"),
        ({**PROPS, "ScheduleDayOfWeek": "FUNDAY"}, "ScheduleDayOfWeek"),
        ({**PROPS, "AccountId": "1234"}, "AccountId"),
        ({k: v for k, v in PROPS.items() if k != "JobNamePrefix"}, "JobNamePrefix"),
    ],
)
def test_malformed_properties_fail_clearly_without_calling_macie(
    handler: ModuleType, responses: list[dict[str, Any]], properties: dict[str, Any], problem: str
) -> None:
    with Stubber(dal.client()) as stub:
        handler.lambda_handler({**_event("Create"), "ResourceProperties": properties}, _Context())
        stub.assert_no_pending_responses()
    assert responses[0]["Status"] == "FAILED" and problem in responses[0]["Reason"]


@pytest.mark.parametrize("event", [{}, {"RequestType": "Create"}, {"detail-type": "Scheduled Event"}])
def test_not_a_custom_resource_event_is_dropped_with_one_error(handler: ModuleType, responses: list[dict[str, Any]], event: dict[str, Any]) -> None:
    assert handler.lambda_handler(event, _Context()) == {"Status": "DROPPED"}
    assert responses == []


def test_non_https_response_url_is_refused(handler: ModuleType) -> None:
    event = {**_event("Delete", PhysicalResourceId="no-job-x"), "ResponseURL": "http://example.com/x"}
    with pytest.raises(ValueError, match="not https"):
        handler.lambda_handler(event, _Context())
