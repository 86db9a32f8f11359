"""Logging and tracing of every MediVault function: one Powertools Logger (JSON, to the function's
own log group; the service name is POWERTOOLS_SERVICE_NAME, set by constructs/medivault_function.py)
and one Tracer (X-Ray). Powertools reads its own POWERTOOLS_* variables when these are created;
that is the only environment read at import.

What is never logged: secret values (passwords, tokens, header secrets) and whole events of
unknown shape, which could carry anything: a rejected event is described by ``event_summary``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

logger = Logger()
tracer = Tracer()

_SUMMARY_FIELDS = ("source", "detail-type", "id", "RequestType", "ResourceType", "LogicalResourceId", "Step", "messageType")


def event_summary(event: Any) -> dict[str, Any]:
    """What a log line may say about an event it could not use: its type, its keys and the few
    identifying fields (never the values of other fields)."""
    if not isinstance(event, dict):
        return {"event_type": type(event).__name__}
    summary: dict[str, Any] = {"event_keys": sorted(str(k) for k in event)[:50]}
    for name in _SUMMARY_FIELDS:
        value = event.get(name)
        if isinstance(value, str):
            summary[name] = value[:200]
    return summary


def reject(problem: str, event: Any) -> None:
    """The one error line of a malformed event: what is wrong, and that nothing was changed."""
    logger.error(f"rejected: {problem}; nothing was changed", extra=event_summary(event))
