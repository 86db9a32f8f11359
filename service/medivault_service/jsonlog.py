"""Structured JSON logs on stdout (one object per line), which the awslogs driver ships to the
KMS-encrypted log group. The X-Ray trace ID is added when a request is being traced, so a log
line and its trace can be joined."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from aws_xray_sdk.core import xray_recorder

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")})
        segment = _current_segment()
        if segment is not None and getattr(segment, "sampled", False):  # not the SDK's dummy segments
            entry["xray_trace_id"] = segment.trace_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _current_segment() -> Any:
    """The active segment or subsegment, read without the SDK's accessor: that one logs
    "cannot find the current segment" (through this very formatter) for every line outside a request."""
    try:
        entities = getattr(getattr(xray_recorder.context, "_local", None), "entities", None)
    except Exception:
        return None
    return entities[-1] if entities else None


def configure(level: str = "INFO") -> None:
    """Route the root logger (and uvicorn's) to stdout as JSON."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
