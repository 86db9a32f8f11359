"""X-Ray tracing for the ASGI app: one segment per request, continuing the trace the ALB started
(``X-Amzn-Trace-Id``), with subsegments for PostgreSQL and Redis. Segments go by
UDP to the X-Ray/ADOT sidecar in the same task (``AWS_XRAY_DAEMON_ADDRESS``, default 127.0.0.1:2000)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from aws_xray_sdk.core import AsyncAWSXRayRecorder
from aws_xray_sdk.core.async_context import AsyncContext
from aws_xray_sdk.core.models import http
from aws_xray_sdk.core.utils import stacktrace
from aws_xray_sdk.ext.util import calculate_sampling_decision, construct_xray_header, prepare_response_header

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("medivault.request")


def configure_recorder(recorder: AsyncAWSXRayRecorder, service: str) -> None:
    """Call inside the running event loop (the app's lifespan): segments live in task context."""
    recorder.configure(service=service, context=AsyncContext(), context_missing="LOG_ERROR", sampling=True)


class XRayMiddleware:
    """Pure ASGI middleware (same task as the route, so the async context carries the segment)."""

    def __init__(self, app: ASGIApp, *, recorder: AsyncAWSXRayRecorder, service: str) -> None:
        self.app = app
        self.recorder = recorder
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        # ASGI header names are lower-case; the SDK looks up the canonical spelling.
        trace_header = construct_xray_header({http.XRAY_HEADER: headers.get("x-amzn-trace-id", "")})
        path = scope.get("path", "/")
        sampling = calculate_sampling_decision(
            trace_header=trace_header,
            recorder=self.recorder,
            sampling_req={"host": headers.get("host", ""), "method": scope["method"], "path": path, "service": self.service},
        )
        segment = self.recorder.begin_segment(name=self.service, traceid=trace_header.root, parent_id=trace_header.parent, sampling=sampling)
        segment.save_origin_trace_header(trace_header)
        segment.put_http_meta(http.URL, f"{scope.get('scheme', 'http')}://{headers.get('host', '')}{path}")
        segment.put_http_meta(http.METHOD, scope["method"])
        if "user-agent" in headers:
            segment.put_http_meta(http.USER_AGENT, headers["user-agent"])
        if "x-forwarded-for" in headers:
            segment.put_http_meta(http.CLIENT_IP, headers["x-forwarded-for"].split(",")[0].strip())
            segment.put_http_meta(http.X_FORWARDED_FOR, True)
        status = 500
        started = time.monotonic()

        async def send_with_trace(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                segment.put_http_meta(http.STATUS, status)
                response_header = prepare_response_header(trace_header, segment)
                message["headers"] = [*message.get("headers", []), (b"x-amzn-trace-id", response_header.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        except Exception as error:
            segment.put_http_meta(http.STATUS, 500)
            segment.add_exception(error, stacktrace.get_stacktrace(limit=self.recorder.max_trace_back))
            raise
        finally:
            log.info(
                "request",
                extra={"method": scope["method"], "path": path, "status": status, "duration_ms": round((time.monotonic() - started) * 1000, 1)},
            )
            self.recorder.end_segment()
