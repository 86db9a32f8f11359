"""The only module that calls AWS: ECS RunTask, DescribeTasks, StopTask."""

from __future__ import annotations

from typing import Any


class RunTaskRefused(RuntimeError):
    """ECS did not start the task (capacity, a bad subnet, a missing permission, ...)."""


def run_task(ecs: Any, request: dict[str, Any]) -> str:
    response = ecs.run_task(**request)
    failures = response.get("failures") or []
    tasks = response.get("tasks") or []
    if failures or not tasks:
        reasons = "; ".join(f"{f.get('arn', '?')}: {f.get('reason', '?')} {f.get('detail', '')}".strip() for f in failures) or "no task returned"
        raise RunTaskRefused(f"ECS RunTask started no migration task: {reasons}")
    return str(tasks[0]["taskArn"])


def describe_task(ecs: Any, cluster: str, task_arn: str) -> dict[str, Any]:
    response = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])
    tasks = response.get("tasks") or []
    if not tasks:
        raise RunTaskRefused(f"ECS no longer describes migration task {task_arn}: {response.get('failures')}")
    task: dict[str, Any] = tasks[0]
    return task


def stop_task(ecs: Any, cluster: str, task_arn: str, reason: str) -> None:
    ecs.stop_task(cluster=cluster, task=task_arn, reason=reason[:255])
