"""Lifecycle of one recurring Amazon Macie classification job, as a CloudFormation custom resource.

CloudFormation has no resource for a Macie classification job, so this function creates it.
Macie jobs are immutable (no rename, no change of buckets or schedule) and cannot be deleted,
only cancelled. Therefore:
- Create: create the job; its job ID is the physical resource ID.
- Update: if the job definition changed, create a NEW job and return its ID; CloudFormation then
  sends a Delete for the old physical ID, which cancels the old job. Unchanged -> same ID.
- Delete: cancel the job. A job that is gone, already cancelled or complete is success: a stack
  must never get stuck on a job someone cancelled by hand.
``client_token`` is the CloudFormation request ID, so a retried invocation does not create a
second job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

# Physical ID of a resource whose Create failed before a job existed; Delete skips it.
NO_JOB_PREFIX = "no-job-"
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
FINISHED_STATUSES = ("CANCELLED", "COMPLETE")
_ACCOUNT = re.compile(r"^\d{12}$")


class InvalidProperties(ValueError):
    """The custom resource's properties do not describe a job (a template bug)."""


class Jobs(Protocol):
    """What the lifecycle needs of Macie (dal.MacieJobs)."""

    def create(self, request: dict[str, Any]) -> tuple[str, str]: ...
    def status(self, job_id: str) -> str | None: ...
    def cancel(self, job_id: str) -> None: ...


@dataclass(frozen=True)
class JobSpec:
    """What the template asks for (ResourceProperties, minus ServiceToken)."""

    name_prefix: str
    description: str
    account_id: str
    buckets: tuple[str, ...]
    custom_data_identifier_ids: tuple[str, ...]
    day_of_week: str

    @classmethod
    def from_properties(cls, properties: dict[str, Any] | None) -> JobSpec:
        if not isinstance(properties, dict):
            raise InvalidProperties("ResourceProperties is missing")
        try:
            spec = cls(
                name_prefix=str(properties["JobNamePrefix"]),
                description=str(properties.get("Description", "")),
                account_id=str(properties["AccountId"]),
                buckets=tuple(str(b) for b in properties["BucketNames"]),
                custom_data_identifier_ids=tuple(str(i) for i in properties.get("CustomDataIdentifierIds", [])),
                day_of_week=str(properties["ScheduleDayOfWeek"]),
            )
        except (KeyError, TypeError) as error:
            raise InvalidProperties(f"missing or malformed property: {error}") from None
        if not spec.buckets:
            raise InvalidProperties("BucketNames is empty: a job needs at least one bucket")
        if not _ACCOUNT.match(spec.account_id):
            raise InvalidProperties(f"AccountId {spec.account_id!r} is not a 12-digit account")
        if spec.day_of_week not in DAYS:
            raise InvalidProperties(f"ScheduleDayOfWeek {spec.day_of_week!r} is not one of {', '.join(DAYS)}")
        if not 1 <= len(spec.name_prefix) <= 400:
            raise InvalidProperties("JobNamePrefix must have 1 to 400 characters")
        return spec


@dataclass(frozen=True)
class Outcome:
    physical_id: str
    data: dict[str, str]


def create_request(spec: JobSpec, request_id: str) -> dict[str, Any]:
    """CreateClassificationJob's parameters."""
    return dict(
        clientToken=request_id,
        name=f"{spec.name_prefix}-{request_id[-12:]}",
        description=spec.description[:200],
        jobType="SCHEDULED",
        initialRun=True,
        scheduleFrequency={"weeklySchedule": {"dayOfWeek": spec.day_of_week}},
        s3JobDefinition={"bucketDefinitions": [{"accountId": spec.account_id, "buckets": list(spec.buckets)}]},
        customDataIdentifierIds=list(spec.custom_data_identifier_ids),
        managedDataIdentifierSelector="RECOMMENDED",
        samplingPercentage=100,
    )


def create_job(jobs: Jobs, spec: JobSpec, request_id: str) -> Outcome:
    job_id, job_arn = jobs.create(create_request(spec, request_id))
    return Outcome(physical_id=job_id, data={"JobId": job_id, "JobArn": job_arn})


def update_job(jobs: Jobs, spec: JobSpec, old_spec: JobSpec | None, physical_id: str, request_id: str) -> Outcome:
    if old_spec == spec and not physical_id.startswith(NO_JOB_PREFIX):
        return Outcome(physical_id=physical_id, data={"JobId": physical_id})
    # Immutable job: a new one replaces it; CloudFormation's cleanup Delete cancels the old one.
    return create_job(jobs, spec, request_id)


def cancel_job(jobs: Jobs, physical_id: str) -> str:
    """Cancel the job; returns what happened. An error other than "no such job" propagates (the
    Delete then fails visibly)."""
    if physical_id.startswith(NO_JOB_PREFIX):
        return "no job was ever created"
    status = jobs.status(physical_id)
    if status is None:
        return "job not found"
    if status in FINISHED_STATUSES:
        return f"job already {status}"
    jobs.cancel(physical_id)
    return "job cancelled"


@dataclass(frozen=True)
class Request:
    request_type: str
    request_id: str
    physical_id: str
    properties: dict[str, Any] | None
    old_properties: dict[str, Any] | None


def apply(request: Request, jobs: Jobs) -> tuple[Outcome, str]:
    """Carry out one CloudFormation request: the outcome and what happened (for the log)."""
    if request.request_type == "Delete":
        return Outcome(physical_id=request.physical_id, data={}), cancel_job(jobs, request.physical_id)
    spec = JobSpec.from_properties(request.properties)
    if request.request_type == "Create":
        return create_job(jobs, spec, request.request_id), "created"
    if request.request_type == "Update":
        try:
            old_spec: JobSpec | None = JobSpec.from_properties(request.old_properties)
        except InvalidProperties:
            old_spec = None
        outcome = update_job(jobs, spec, old_spec, request.physical_id, request.request_id)
        return outcome, "unchanged" if outcome.physical_id == request.physical_id else "replaced"
    raise InvalidProperties(f"unknown RequestType {request.request_type!r}")
