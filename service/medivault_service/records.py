"""Records API (``/v1/``): metadata in Aurora, bytes in S3 through presigned URLs.

- ``POST /v1/records``: a metadata row (status ``pending``) and the upload: a presigned PUT signed
  for the record's content type, exact length, SHA-256 checksum and SSE-KMS with the data key
  (documents), or a multipart upload created by the service with SSE-KMS and presigned UploadPart
  URLs of fixed part sizes (imaging, up to 20 GiB). S3 refuses a request whose signed headers
  differ, so the client cannot change the key, the encryption, the type or the length:
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/PresignedUrlUploadObject.html
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
- ``POST /v1/records/{id}/confirm``: completes a multipart upload, then HEADs the object: size,
  checksum (single part), encryption, key, Object Lock mode and version; only then ``available``.
- ``GET /v1/patients/{patient}/records``: the patient's records, newest first.
- ``GET /v1/records/{id}``: metadata and a presigned GET of that exact version, valid for minutes.
- ``GET /v1/records/{id}/audit``: the record's audit events (who, what, when, from where).

Object keys are ``records/<record uuid>``: no name, no patient id. Patients see their own records,
clinicians those of patients they have a care relationship with; anything else is 404 (a record)
or 403 (a patient's list), and nothing is written.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import math
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from medivault_service.auth import Principal, principal_of
from medivault_service.errors import ApiError, fields, read_json, request_id_of
from medivault_service.store import AuditContext, Store

log = logging.getLogger("medivault.records")

MiB = 1024 * 1024
GiB = 1024 * MiB
KINDS: dict[str, dict[str, Any]] = {
    # Single PUT; S3 allows 5 GB, documents are capped far lower.
    "document": {
        "max_bytes": 100 * MiB,
        "types": ("application/pdf", "image/png", "image/jpeg", "text/plain", "application/json", "application/fhir+json"),
    },
    # Multipart: parts of 64 MiB (or more: S3 allows 10,000 parts), at most 20 GiB per study file.
    "imaging": {"max_bytes": 20 * GiB, "types": ("application/dicom", "application/octet-stream", "application/zip")},
}
MIN_PART_BYTES = 64 * MiB
MAX_PARTS = 10_000
LIST_LIMIT = 100
# Every record object lives under this prefix with a random id: no name or patient identifier in a key.
# The task role may touch nothing else in the PHI buckets (constructs/app_service.py RECORDS_OBJECT_PREFIX).
OBJECT_PREFIX = "records/"


def part_size_for(size: int) -> int:
    """64 MiB parts, larger (whole MiB) only when 10,000 parts would not hold the object."""
    return max(MIN_PART_BYTES, math.ceil(size / MAX_PARTS / MiB) * MiB)


def audit_context(request: Request) -> AuditContext:
    # uvicorn runs with proxy_headers: request.client is the X-Forwarded-For client the ALB saw.
    host = request.client.host if request.client else None
    try:
        source_ip = str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        source_ip = None
    header = request.headers.get("x-amzn-trace-id", "")
    trace = next((part[5:] for part in header.split(";") if part.startswith("Root=")), None)
    return AuditContext(source_ip=source_ip, request_id=request_id_of(request), trace_id=trace[:64] if trace else None)


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ApiError(404 if what == "record" else 400, f"{what}_not_found" if what == "record" else "invalid_id", f"no such {what}") from None


async def _s3(request: Request, operation: str, **kwargs: Any) -> Any:
    """One S3 API call (network) or presign (local) in an X-Ray ``s3`` subsegment, off the event loop."""
    client = request.app.state.s3
    recorder = request.app.state.recorder
    async with recorder.in_subsegment_async("s3") as sub:
        if sub is not None:
            sub.namespace = "aws"
            sub.put_annotation("operation", operation)
        if operation.startswith("presign:"):
            return client.generate_presigned_url(operation[8:], **kwargs)  # signed locally: no I/O
        return await run_in_threadpool(getattr(client, operation), **kwargs)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": str(row["id"]),
        "patient_id": str(row["patient"]),
        "created_by": str(row["created_by"]),
        "kind": row["kind"],
        "title": row["title"],
        "content_type": row["content_type"],
        "size_bytes": row["size_bytes"],
        "sha256": row["sha256"],
        "status": row["status"],
        "object_lock": {"mode": row["lock_mode"], "retain_until": iso(row["lock_until"])} if row["lock_mode"] else None,
        "created_at": iso(row["created_at"]),
        "confirmed_at": iso(row["confirmed_at"]),
    }


def _sha256_for(kind: str, sha256: str | None) -> str | None:
    """A document's upload is signed for its checksum; an imaging upload's parts are checked by S3 per part."""
    if kind != "document":
        if sha256 is not None:
            raise ApiError(400, "invalid_field", "sha256 is checked per part for imaging uploads; leave it out")
        return None
    try:
        if sha256 is None or len(base64.b64decode(sha256, validate=True)) != 32:
            raise ValueError
    except ValueError:
        raise ApiError(400, "invalid_field", "sha256 (base64 of the 32-byte SHA-256 digest) is required for a document") from None
    return sha256


def _new_record(body: dict[str, Any]) -> dict[str, Any]:
    """The checked fields of a new record (no id, no object yet); 400 on the first field that is wrong."""
    kind = KINDS.get(body["kind"])
    if kind is None:
        raise ApiError(400, "invalid_field", f"kind must be one of {', '.join(KINDS)}")
    if body["content_type"] not in kind["types"]:
        raise ApiError(400, "invalid_field", f"content_type of a {body['kind']} must be one of {', '.join(kind['types'])}")
    if not 0 < body["size_bytes"] <= kind["max_bytes"]:
        raise ApiError(400, "invalid_field", f"size_bytes of a {body['kind']} must be 1..{kind['max_bytes']}")
    title = body["title"].strip()
    if not 0 < len(title) <= 200:
        raise ApiError(400, "invalid_field", "title must be 1..200 characters")
    patient = str(_uuid(body["patient_id"], "patient"))
    return {
        "patient": patient,
        "kind": body["kind"],
        "title": title,
        "content_type": body["content_type"],
        "size_bytes": body["size_bytes"],
        "sha256": _sha256_for(body["kind"], body.get("sha256")),
    }


def _sse(data_key_arn: str) -> dict[str, str]:
    """SSE-KMS with the service's data key: signed into a PUT, or fixed by CreateMultipartUpload."""
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": data_key_arn}


async def _document_upload(request: Request, new: dict[str, Any], *, bucket: str, key: str) -> dict[str, Any]:
    """A single presigned PUT, signed for the type, exact length, SHA-256 checksum and SSE-KMS with the data key."""
    settings = request.app.state.settings
    url = await _s3(
        request,
        "presign:put_object",
        Params={
            "Bucket": bucket,
            "Key": key,
            "ContentType": new["content_type"],
            "ContentLength": new["size_bytes"],
            "ChecksumSHA256": new["sha256"],
            "ChecksumAlgorithm": "SHA256",
            **_sse(settings.data_key_arn),
        },
        ExpiresIn=settings.upload_url_seconds,
    )
    return {
        "method": "PUT",
        "url": url,
        "headers": {
            "Content-Type": new["content_type"],
            "Content-Length": str(new["size_bytes"]),
            "x-amz-checksum-sha256": new["sha256"],
            # Object Lock buckets refuse a PUT without Content-MD5 or this header.
            "x-amz-sdk-checksum-algorithm": "SHA256",
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": settings.data_key_arn,
        },
        "expires_in": settings.upload_url_seconds,
    }


async def _multipart_upload(request: Request, principal: Principal, new: dict[str, Any], *, bucket: str, key: str) -> tuple[str, dict[str, Any]]:
    """A multipart upload created by the service (encryption, key and type fixed) and a presigned URL per part.

    Authorization is checked before the upload is created (no orphan uploads for refused callers)."""
    settings = request.app.state.settings
    async with request.app.state.store.transaction() as db:
        if not await Store._may_see_patient(db, principal, new["patient"]):
            raise ApiError(403, "forbidden", "no care relationship with this patient")
    created = await _s3(request, "create_multipart_upload", Bucket=bucket, Key=key, ContentType=new["content_type"], **_sse(settings.data_key_arn))
    upload_id: str = created["UploadId"]
    size = new["size_bytes"]
    part = part_size_for(size)
    count = math.ceil(size / part)
    parts = []
    for number in range(1, count + 1):
        # Each part URL signs its length.
        length = part if number < count else size - part * (count - 1)
        url = await _s3(
            request,
            "presign:upload_part",
            Params={"Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": number, "ContentLength": length},
            ExpiresIn=settings.upload_url_seconds,
        )
        parts.append({"part_number": number, "url": url, "size_bytes": length})
    return upload_id, {"method": "MULTIPART", "part_size_bytes": part, "parts": parts, "expires_in": settings.upload_url_seconds}


async def create_record(request: Request) -> JSONResponse:
    principal = await principal_of(request, "clinician", "patient")
    settings = request.app.state.settings
    body = fields(
        await read_json(request, settings.max_body_bytes),
        {"patient_id": str, "kind": str, "title": str, "content_type": str, "size_bytes": int},
        {"sha256": str},
    )
    new = _new_record(body)
    if principal.group == "patient" and new["patient"] != principal.subject:
        raise ApiError(403, "forbidden", "patients may add records only to their own file")

    record_id = uuid.uuid4()
    key = f"{OBJECT_PREFIX}{record_id}"
    bucket = settings.records_bucket if new["kind"] == "document" else settings.imaging_bucket
    upload_id: str | None = None
    if new["kind"] == "document":
        upload = await _document_upload(request, new, bucket=bucket, key=key)
    else:
        upload_id, upload = await _multipart_upload(request, principal, new, bucket=bucket, key=key)

    store: Store = request.app.state.store
    row = await store.create_record(
        principal,
        {"id": record_id, **new, "bucket": bucket, "object_key": key, "upload_id": upload_id},
        audit_context(request),
    )
    if row is None:
        if upload_id is not None:
            await _s3(request, "abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
        raise ApiError(403, "forbidden", "no care relationship with this patient")
    log.info("record created", extra={"record_id": str(record_id), "kind": new["kind"], "size_bytes": new["size_bytes"]})
    return JSONResponse({"record": _public(row), "upload": upload}, status_code=201)


def _completion_parts(parts: list[Any] | None) -> list[dict[str, Any]]:
    """The client's {part_number, etag} list as CompleteMultipartUpload's Parts; 400 if missing or malformed."""
    if not parts or len(parts) > MAX_PARTS:
        raise ApiError(400, "missing_field", "parts (part_number and etag of every part) are required for a multipart upload")
    checked = []
    for entry in parts:
        if (
            not isinstance(entry, dict)
            or set(entry) != {"part_number", "etag"}
            or not isinstance(entry["part_number"], int)
            or not isinstance(entry["etag"], str)
        ):
            raise ApiError(400, "invalid_field", "each part is {part_number, etag}")
        checked.append({"PartNumber": entry["part_number"], "ETag": entry["etag"]})
    return checked


async def _finish_upload(request: Request, row: Mapping[str, Any], parts: list[Any] | None) -> None:
    """Completes a multipart upload (a single PUT has nothing to complete and takes no parts)."""
    if not row["upload_id"]:
        if parts:
            raise ApiError(400, "unknown_field", "parts apply to multipart uploads only")
        return
    checked = _completion_parts(parts)
    try:
        await _s3(
            request,
            "complete_multipart_upload",
            Bucket=row["bucket"],
            Key=row["object_key"],
            UploadId=row["upload_id"],
            MultipartUpload={"Parts": checked},
        )
    except ClientError as error:
        log.info("multipart completion refused", extra={"s3_error": error.response.get("Error", {}).get("Code")})
        raise ApiError(409, "upload_incomplete", "S3 refused to complete the multipart upload (missing or wrong parts)") from None


def _mismatches(row: Mapping[str, Any], head: Mapping[str, Any], data_key_arn: str) -> list[str]:
    """What of the uploaded object (HeadObject) differs from its record: size, checksum, encryption, type, Object Lock."""
    problems = []
    if head.get("ContentLength") != row["size_bytes"]:
        problems.append("size")
    if row["sha256"] and head.get("ChecksumSHA256") != row["sha256"]:
        problems.append("checksum")
    if head.get("ServerSideEncryption") != "aws:kms" or head.get("SSEKMSKeyId") != data_key_arn:
        problems.append("encryption")
    if head.get("ContentType") != row["content_type"]:
        problems.append("content type")
    if head.get("ObjectLockMode") not in ("COMPLIANCE", "GOVERNANCE"):
        problems.append("object lock")
    return problems


async def confirm_upload(request: Request) -> JSONResponse:
    principal = await principal_of(request, "clinician", "patient")
    settings = request.app.state.settings
    record_id = _uuid(request.path_params["record_id"], "record")
    store: Store = request.app.state.store
    body = fields(await read_json(request, settings.max_body_bytes), {}, {"parts": list})
    async with store.transaction() as db:
        row = await store.visible_record(db, principal, record_id)
    if row is None:
        raise ApiError(404, "record_not_found", "no such record")
    if row["status"] != "pending":
        raise ApiError(409, "already_confirmed", "the upload of this record was already confirmed")
    await _finish_upload(request, row, body.get("parts"))
    try:
        head = await _s3(request, "head_object", Bucket=row["bucket"], Key=row["object_key"], ChecksumMode="ENABLED")
    except ClientError:
        raise ApiError(409, "upload_missing", "the object has not been uploaded yet") from None
    problems = _mismatches(row, head, settings.data_key_arn)
    if problems:
        log.warning("upload does not match its record", extra={"record_id": str(record_id), "mismatch": problems})
        raise ApiError(409, "upload_mismatch", f"the uploaded object does not match the record: {', '.join(problems)}")
    updated = await store.confirm_record(
        principal,
        record_id,
        {"version_id": head.get("VersionId"), "lock_mode": head.get("ObjectLockMode"), "lock_until": head.get("ObjectLockRetainUntilDate")},
        audit_context(request),
    )
    if updated is None:
        raise ApiError(409, "already_confirmed", "the upload of this record was already confirmed")
    return JSONResponse({"record": _public(updated)})


async def get_record(request: Request) -> JSONResponse:
    principal = await principal_of(request, "clinician", "patient")
    settings = request.app.state.settings
    record_id = _uuid(request.path_params["record_id"], "record")
    store: Store = request.app.state.store
    row = await store.read_record(principal, record_id, "record.download_url", audit_context(request))
    if row is None:
        raise ApiError(404, "record_not_found", "no such record")
    download = None
    if row["status"] == "available":
        params = {"Bucket": row["bucket"], "Key": row["object_key"], "ResponseContentDisposition": "attachment"}
        if row["version_id"]:
            params["VersionId"] = row["version_id"]
        url = await _s3(request, "presign:get_object", Params=params, ExpiresIn=settings.download_url_seconds)
        download = {"url": url, "expires_in": settings.download_url_seconds}
    profile = await request.app.state.profiles.read(str(row["patient"]))
    return JSONResponse({"record": _public(row), "patient": profile, "download": download})


async def record_audit(request: Request) -> JSONResponse:
    principal = await principal_of(request, "clinician", "patient")
    record_id = _uuid(request.path_params["record_id"], "record")
    store: Store = request.app.state.store
    events = await store.record_audit(principal, record_id, audit_context(request))
    if events is None:
        raise ApiError(404, "record_not_found", "no such record")
    return JSONResponse(
        {
            "events": [
                {
                    "at": e["at"].isoformat(),
                    "actor": str(e["actor"]),
                    "actor_group": e["actor_group"],
                    "action": e["action"],
                    "source_ip": str(e["source_ip"]) if e["source_ip"] else None,
                    "request_id": e["request_id"],
                }
                for e in events
            ]
        }
    )


async def list_records(request: Request) -> JSONResponse:
    principal = await principal_of(request, "clinician", "patient")
    patient = str(_uuid(request.path_params["patient_id"], "patient"))
    if set(request.query_params) - {"limit"}:
        raise ApiError(400, "unknown_field", "the only query parameter is limit")
    limit_text = request.query_params.get("limit", str(LIST_LIMIT))
    if not limit_text.isdigit() or not 0 < int(limit_text) <= LIST_LIMIT:
        raise ApiError(400, "invalid_field", f"limit must be 1..{LIST_LIMIT}")
    store: Store = request.app.state.store
    rows = await store.list_records(principal, patient, int(limit_text), audit_context(request))
    if rows is None:
        raise ApiError(403, "forbidden", "no access to this patient's records")
    return JSONResponse({"records": [_public(r) for r in rows]})


class Profiles:
    """Profiles through the cache (medivault_service.cache), PostgreSQL behind it."""

    def __init__(self, store: Store, cache: Any) -> None:
        self.store = store
        self.cache = cache

    async def read(self, subject: str) -> dict[str, Any] | None:
        cached: dict[str, Any] | None = await self.cache.get(subject)
        if cached is not None:
            return cached
        profile = await self.store.profile(subject)
        if profile is not None:
            await self.cache.put(subject, profile)
        return dict(profile) if profile is not None else None


async def get_profile(request: Request) -> JSONResponse:
    principal: Principal = await principal_of(request, "clinician", "patient")
    profile = await request.app.state.profiles.read(principal.subject)
    if profile is None:
        raise ApiError(404, "profile_not_found", "no profile for this account")
    return JSONResponse({"profile": profile})


async def update_profile(request: Request) -> JSONResponse:
    principal = await principal_of(request, "clinician", "patient")
    body = fields(await read_json(request, request.app.state.settings.max_body_bytes), {"display_name": str})
    name = body["display_name"].strip()
    if not 0 < len(name) <= 200:
        raise ApiError(400, "invalid_field", "display_name must be 1..200 characters")
    profiles: Profiles = request.app.state.profiles
    updated = await profiles.store.update_profile(principal, name, audit_context(request))
    if updated is None:
        raise ApiError(404, "profile_not_found", "no profile for this account")
    await profiles.cache.invalidate(principal.subject)
    return JSONResponse({"profile": updated})
