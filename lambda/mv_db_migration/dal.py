"""The only module that calls AWS: ECS RunTask, DescribeTasks, StopTask.

The client is created on first use (not at import): boto3 takes the region from AWS_REGION, which
Lambda sets in every execution environment.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3


class RunTaskRefused(RuntimeError):
    """ECS did not start the task (capacity, a bad subnet, a missing permission, ...)."""


@functools.cache
def client() -> Any:
    return boto3.client("ecs")


class EcsTasks:
    def __init__(self, ecs: Any) -> None:
        self.ecs = ecs

    def run(self, request: dict[str, Any]) -> str:
        response = self.ecs.run_task(**request)
        failures = response.get("failures") or []
        tasks = response.get("tasks") or []
        if failures or not tasks:
            reasons = "; ".join(f"{f.get('arn', '?')}: {f.get('reason', '?')} {f.get('detail', '')}".strip() for f in failures) or "no task returned"
            raise RunTaskRefused(f"ECS RunTask started no migration task: {reasons}")
        return str(tasks[0]["taskArn"])

    def describe(self, cluster: str, task_arn: str) -> dict[str, Any]:
        response = self.ecs.describe_tasks(cluster=cluster, tasks=[task_arn])
        tasks = response.get("tasks") or []
        if not tasks:
            raise RunTaskRefused(f"ECS no longer describes migration task {task_arn}: {response.get('failures')}")
        task: dict[str, Any] = tasks[0]
        return task

    def stop(self, cluster: str, task_arn: str, reason: str) -> None:
        self.ecs.stop_task(cluster=cluster, task=task_arn, reason=reason[:255])
