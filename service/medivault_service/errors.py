"""One error shape for every refusal: ``{"error": {"code", "message", "request_id"}}``.

``code`` is stable (clients branch on it), ``message`` is for people and never carries PHI, a token
or a value the client sent; ``request_id`` joins the answer to the log line and the trace.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

log = logging.getLogger("medivault.errors")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def request_id_of(request: Request) -> str:
    """The ALB's trace root when there is one (``X-Amzn-Trace-Id: Root=…``), else a fresh id."""
    state = request.scope.setdefault("state", {})
    existing = state.get("request_id")
    if isinstance(existing, str):
        return existing
    header = request.headers.get("x-amzn-trace-id", "")
    root = next((part[5:] for part in header.split(";") if part.startswith("Root=")), "")
    value = root if 0 < len(root) <= 64 and all(c.isalnum() or c == "-" for c in root) else str(uuid.uuid4())
    state["request_id"] = value
    return value


def error_response(request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "request_id": request_id_of(request)}}, status_code=status, headers=headers)


async def api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    log.info("request refused", extra={"code": exc.code, "status": exc.status, "request_id": request_id_of(request)})
    return error_response(request, exc.status, exc.code, exc.message, exc.headers)


async def http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    status = int(getattr(exc, "status_code", 500))
    codes = {404: ("not_found", "no such route"), 405: ("method_not_allowed", "method not allowed on this route")}
    code, message = codes.get(status, ("http_error", "request refused"))
    return error_response(request, status, code, message)


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # Type only: an exception's text may quote a query parameter or a row.
    log.error("unexpected error", extra={"error": type(exc).__name__, "request_id": request_id_of(request)})
    return error_response(request, 500, "internal_error", "the service could not complete the request")


async def read_json(request: Request, max_bytes: int) -> dict[str, Any]:
    """The request body as a JSON object: content type, size (before and while reading) and syntax checked."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "the body must be application/json")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        raise ApiError(413, "body_too_large", f"the body must be at most {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise ApiError(413, "body_too_large", f"the body must be at most {max_bytes} bytes")
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", "the body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object")
    return parsed


def fields(
    body: dict[str, Any], required: dict[str, type | tuple[type, ...]], optional: dict[str, type | tuple[type, ...]] | None = None
) -> dict[str, Any]:
    """Exactly the named fields with the named types; anything else is refused (names only in the message)."""
    optional = optional or {}
    unknown = sorted(set(body) - set(required) - set(optional))
    if unknown:
        raise ApiError(400, "unknown_field", f"unknown field(s): {', '.join(u[:40] for u in unknown[:5])}")
    for name in required:
        if name not in body:
            raise ApiError(400, "missing_field", f"field {name} is required")
    for name, kind in {**required, **optional}.items():
        if name in body and (not isinstance(body[name], kind) or (isinstance(body[name], bool) and kind is int)):
            raise ApiError(400, "invalid_field", f"field {name} has the wrong type")
    return body
