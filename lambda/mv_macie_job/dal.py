"""The only module that calls AWS: Amazon Macie classification jobs (create, describe, cancel).

The client is created on first use (not at import); boto3 takes the region from AWS_REGION.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.exceptions import ClientError


@functools.cache
def client() -> Any:
    return boto3.client("macie2")


class MacieJobs:
    def __init__(self, macie: Any) -> None:
        self.macie = macie

    def create(self, request: dict[str, Any]) -> tuple[str, str]:
        """(job id, job ARN) of the new job."""
        response = self.macie.create_classification_job(**request)
        return str(response["jobId"]), str(response["jobArn"])

    def status(self, job_id: str) -> str | None:
        """The job's status, or None if Macie does not know the job (ResourceNotFoundException).
        Any other error propagates."""
        try:
            return str(self.macie.describe_classification_job(jobId=job_id)["jobStatus"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise

    def cancel(self, job_id: str) -> None:
        self.macie.update_classification_job(jobId=job_id, jobStatus="CANCELLED")
