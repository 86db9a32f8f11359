"""The records service end to end, in process (Starlette's TestClient) against the real PostgreSQL
and Redis of conftest.py and moto in server mode for S3, KMS and Cognito. Presigned URLs are used
with ``requests`` against moto's HTTP endpoint, as a browser would use them against S3.

What moto does not do, and how each is covered (see tests/service/harness.py):
- SigV4 signature, Content-Length and checksum of a presigned PUT are not verified by moto (it
  stores the declared x-amz-checksum-sha256): the URL's signed headers are asserted, and a wrong
  length is caught by the service's confirm step (HEAD). A checksum mismatch is refused by S3 on
  the PUT itself; that path is not exercised here.
- Default Object Lock retention is not applied by moto to a completed multipart upload:
  S3WithDefaultRetentionOnComplete applies it, as S3 does.
AWS documentation relied on:
- https://docs.aws.amazon.com/AmazonS3/latest/userguide/PresignedUrlUploadObject.html
- https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html (a locked version cannot be deleted)
- https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import uuid
from typing import Any

import asyncpg
import pytest
import requests
from medivault_service import records
from medivault_service.database import SERVICE_DB_USER, DatabaseEndpoint, connect, tls_context

from tests.service.api import Api
from tests.service.conftest import Server, Tls
from tests.service.harness import PASSWORD, STAND_IN_TOKEN, World, totp_code
from tests.service.records_service import CONTENT, TITLE, Service
from tests.service.test_readiness import CapturingEmitter

pytestmark = pytest.mark.requirements("R4", "R5", "R6", "R10", "R12", "R13")


def _upload(create: dict[str, Any], data: bytes) -> requests.Response:
    upload = create["upload"]
    assert upload["method"] == "PUT"
    return requests.put(upload["url"], data=data, headers=upload["headers"], timeout=10)


def test_sign_in_with_totp_mfa_and_refresh(service: Service) -> None:
    http, world = service.http, service.world
    first = http.post("/v1/auth/sign-in", json={"username": "dr.house", "password": PASSWORD})
    assert first.status_code == 200 and first.json()["challenge"] == "SOFTWARE_TOKEN_MFA"
    session = first.json()["session"]
    wrong = http.post("/v1/auth/mfa", json={"username": "dr.house", "session": session, "code": "000000"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_mfa_code")
    secret = world.users["dr.house"].totp_secret
    assert secret is not None
    tokens = http.post("/v1/auth/mfa", json={"username": "dr.house", "session": session, "code": totp_code(secret)}).json()
    assert set(tokens) >= {"access_token", "id_token", "refresh_token", "expires_in"}
    assert http.get("/v1/profile", headers=Api.auth(tokens["access_token"])).json()["profile"]["kind"] == "clinician"
    refreshed = http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert http.get("/v1/profile", headers=Api.auth(refreshed.json()["access_token"])).status_code == 200
    # The id token is not an access token.
    as_id = http.get("/v1/profile", headers=Api.auth(tokens["id_token"]))
    assert (as_id.status_code, as_id.json()["error"]["code"]) == (401, "unauthorized")
    # A wrong password and an unknown user get the same answer (no user enumeration).
    for username, password in (("dr.house", "Wrong-password-123!"), ("nobody.here", PASSWORD)):
        refused = http.post("/v1/auth/sign-in", json={"username": username, "password": password})
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "invalid_credentials")
    # A patient without MFA enrolled signs in with the password alone (the pool's MFA is optional in moto;
    # the real pool requires it: the first sign-in then answers MFA_SETUP, completed through /v1/auth/mfa-setup,
    # tests/service/test_auth.py).
    assert "access_token" in http.post("/v1/auth/sign-in", json={"username": "pat.one", "password": PASSWORD}).json()


def test_document_upload_confirm_read_back_and_audit(service: Service) -> None:
    api, world = service.api, service.world
    clinician = api.sign_in("dr.house")
    patient = world.users["pat.one"].subject
    created = api.create_document(clinician, patient, CONTENT, title=TITLE)
    assert created.status_code == 201, created.text
    body = created.json()
    record_id = body["record"]["id"]
    assert body["record"]["status"] == "pending"
    url = urllib.parse.urlparse(body["upload"]["url"])
    query = urllib.parse.parse_qs(url.query)
    # The key names nothing but the record; the signature covers type, length, checksum and SSE-KMS with the data key.
    assert url.path.endswith(f"/records/{record_id}")
    assert query["X-Amz-SignedHeaders"] == [
        "content-length;content-type;host;x-amz-checksum-sha256;x-amz-sdk-checksum-algorithm;x-amz-server-side-encryption;"
        "x-amz-server-side-encryption-aws-kms-key-id"
    ]
    assert int(query["X-Amz-Expires"][0]) == service.settings.upload_url_seconds
    assert body["upload"]["headers"]["x-amz-server-side-encryption-aws-kms-key-id"] == world.key_arn
    assert api.confirm(clinician, record_id).json()["error"]["code"] == "upload_missing"
    assert _upload(body, CONTENT).status_code == 200
    confirmed = api.confirm(clinician, record_id)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["record"]["status"] == "available"
    assert confirmed.json()["record"]["object_lock"]["mode"] == "COMPLIANCE"
    assert api.confirm(clinician, record_id).status_code == 409  # once only

    got = api.get(clinician, record_id)
    assert got.status_code == 200
    download = got.json()["download"]
    assert download["expires_in"] == service.settings.download_url_seconds <= 900
    assert got.json()["patient"]["display_name"] == world.users["pat.one"].display_name
    fetched = requests.get(download["url"], timeout=10)
    assert (fetched.status_code, fetched.content) == (200, CONTENT)
    # The patient sees the same record; the list has it.
    own = service.api.sign_in("pat.one")
    assert api.get(own, record_id).status_code == 200
    listed = api.list(own, patient).json()["records"]
    assert [r["id"] for r in listed] == [record_id]

    # The locked version cannot be deleted (COMPLIANCE mode), whoever asks.
    version = service.s3.head_object(Bucket=world.records_bucket, Key=f"records/{record_id}")["VersionId"]
    with pytest.raises(service.s3.exceptions.ClientError, match="AccessDenied"):
        service.s3.delete_object(Bucket=world.records_bucket, Key=f"records/{record_id}", VersionId=version)

    audit = service.audit()
    assert [(a["action"], str(a["actor"])) for a in audit] == [
        ("record.create", world.users["dr.house"].subject),
        ("record.confirm", world.users["dr.house"].subject),
        ("record.download_url", world.users["dr.house"].subject),
        ("record.download_url", world.users["pat.one"].subject),
        ("records.list", world.users["pat.one"].subject),
    ]
    assert all(a["request_id"] == "1-5759e988-bd862e3fe1be46a994272793" and a["trace_id"] == a["request_id"] for a in audit)
    assert {str(a["record_id"]) for a in audit[:4]} == {record_id} and audit[4]["record_id"] is None
    assert {str(a["patient"]) for a in audit} == {patient}
    # Each request's trace reached PostgreSQL, Redis and S3 as subsegments.
    names = _subsegment_names(service.emitter)
    assert {"postgresql", "redis", "s3", "cognito-idp"} <= names, names


def _subsegment_names(emitter: CapturingEmitter) -> set[str]:
    names: set[str] = set()

    def walk(entity: dict[str, Any]) -> None:
        names.add(entity.get("name", ""))
        for child in entity.get("subsegments", []):
            walk(child)

    for segment in emitter.segments:
        for child in segment.get("subsegments", []):
            walk(child)
        if segment.get("type") == "subsegment":
            walk(segment)
    return names


def test_wrong_bytes_through_the_url_are_not_confirmed(service: Service) -> None:
    api = service.api
    clinician = api.sign_in("dr.house")
    body = api.create_document(clinician, service.world.users["pat.one"].subject, CONTENT).json()
    # S3 refuses this PUT itself (signed Content-Length and x-amz-checksum-sha256); moto checks
    # neither and keeps the declared checksum, so the confirm step's size check is what refuses here.
    assert _upload(body, CONTENT + b" appended").status_code == 200
    refused = api.confirm(clinician, body["record"]["id"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "upload_mismatch")
    assert "size" in refused.json()["error"]["message"]
    assert api.get(clinician, body["record"]["id"]).json()["download"] is None  # still pending: no download URL


def test_imaging_multipart_upload(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    # 5 MiB parts (S3's minimum) instead of 64 MiB, so two parts stay small in a test.
    monkeypatch.setattr(records, "MIN_PART_BYTES", 5 * records.MiB)
    api = service.api
    clinician = api.sign_in("dr.house")
    data = b"D" * (5 * records.MiB) + b"ICM-tail"
    created = service.http.post(
        "/v1/records",
        headers=Api.auth(clinician),
        json={
            "patient_id": service.world.users["pat.one"].subject,
            "kind": "imaging",
            "title": "CT study",
            "content_type": "application/dicom",
            "size_bytes": len(data),
        },
    )
    assert created.status_code == 201, created.text
    upload = created.json()["upload"]
    assert upload["method"] == "MULTIPART" and [p["size_bytes"] for p in upload["parts"]] == [5 * records.MiB, 8]
    for part in upload["parts"]:
        assert urllib.parse.parse_qs(urllib.parse.urlparse(part["url"]).query)["X-Amz-SignedHeaders"] == ["content-length;host"]
    record_id = created.json()["record"]["id"]
    head = service.s3.list_multipart_uploads(Bucket=service.world.imaging_bucket)["Uploads"]
    assert f"records/{record_id}" in {u["Key"] for u in head}
    etags = []
    offset = 0
    for part in upload["parts"]:
        chunk = data[offset : offset + part["size_bytes"]]
        offset += part["size_bytes"]
        response = requests.put(part["url"], data=chunk, timeout=30)
        assert response.status_code == 200
        etags.append({"part_number": part["part_number"], "etag": response.headers["ETag"]})
    assert api.confirm(clinician, record_id).json()["error"]["code"] == "missing_field"
    confirmed = api.confirm(clinician, record_id, etags)
    assert confirmed.status_code == 200, confirmed.text
    stored = service.s3.head_object(Bucket=service.world.imaging_bucket, Key=f"records/{record_id}")
    assert (stored["ServerSideEncryption"], stored["SSEKMSKeyId"], stored["ContentLength"]) == ("aws:kms", service.world.key_arn, len(data))
    fetched = requests.get(api.get(clinician, record_id).json()["download"]["url"], timeout=30)
    assert fetched.content == data


def test_access_is_limited_to_own_records_and_care_relationships(service: Service) -> None:
    api, users = service.api, service.world.users
    clinician, other_clinician = api.sign_in("dr.house"), api.sign_in("dr.other")
    own, other_patient = api.sign_in("pat.one"), api.sign_in("pat.two")
    record_id = api.create_document(clinician, users["pat.one"].subject, CONTENT).json()["record"]["id"]
    before = (service.count("phi.records"), service.count("phi.audit_events"))
    refusals = {
        "other patient reads": api.get(other_patient, record_id),
        "other patient lists": api.list(other_patient, users["pat.one"].subject),
        "clinician without relationship reads": api.get(other_clinician, record_id),
        "clinician without relationship lists": api.list(other_clinician, users["pat.one"].subject),
        "clinician creates for a patient not in care": api.create_document(clinician, users["pat.two"].subject, CONTENT),
        "patient creates for another patient": api.create_document(own, users["pat.two"].subject, CONTENT),
        "unknown record": api.get(clinician, str(uuid.uuid4())),
        "not a uuid": api.get(clinician, "records-of-pat-one"),
    }
    statuses = {label: (r.status_code, r.json()["error"]["code"]) for label, r in refusals.items()}
    assert statuses == {
        "other patient reads": (404, "record_not_found"),
        "other patient lists": (403, "forbidden"),
        "clinician without relationship reads": (404, "record_not_found"),
        "clinician without relationship lists": (403, "forbidden"),
        "clinician creates for a patient not in care": (403, "forbidden"),
        "patient creates for another patient": (403, "forbidden"),
        "unknown record": (404, "record_not_found"),
        "not a uuid": (404, "record_not_found"),
    }
    assert (service.count("phi.records"), service.count("phi.audit_events")) == before
    # A patient may add to their own file.
    assert api.create_document(own, users["pat.one"].subject, CONTENT).status_code == 201


def _forged_token(world: World) -> str:
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {
        "sub": world.users["dr.house"].subject,
        "iss": f"https://cognito-idp.eu-central-1.amazonaws.com/{world.pool_id}",
        "client_id": world.client_id,
        "token_use": "access",
        "iat": now,
        "exp": now + 3600,
        "cognito:groups": ["clinician"],
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})  # moto's kid, another key


def test_bad_input_is_a_clear_4xx_with_one_shape_and_writes_nothing(service: Service) -> None:
    api, http, users = service.api, service.http, service.world.users
    clinician = api.sign_in("dr.house")
    auth = {**Api.auth(clinician), "Content-Type": "application/json"}
    valid = {
        "patient_id": users["pat.one"].subject,
        "kind": "document",
        "title": "t",
        "content_type": "application/pdf",
        "size_bytes": 10,
        "sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
    }
    before = (service.count("phi.records"), service.count("phi.audit_events"))
    cases = {
        "malformed json": (http.post("/v1/records", headers=auth, content=b'{"patient_id": '), 400, "malformed_json"),
        "not an object": (http.post("/v1/records", headers=auth, content=b"[1, 2]"), 400, "malformed_json"),
        "oversized": (http.post("/v1/records", headers=auth, content=json.dumps({**valid, "title": "x" * 20000}).encode()), 413, "body_too_large"),
        "unknown field": (http.post("/v1/records", headers=auth, json={**valid, "owner": "someone"}), 400, "unknown_field"),
        "missing field": (http.post("/v1/records", headers=auth, json={k: v for k, v in valid.items() if k != "kind"}), 400, "missing_field"),
        "wrong type": (http.post("/v1/records", headers=auth, json={**valid, "size_bytes": "10"}), 400, "invalid_field"),
        "bool as int": (http.post("/v1/records", headers=auth, json={**valid, "size_bytes": True}), 400, "invalid_field"),
        "too large a document": (http.post("/v1/records", headers=auth, json={**valid, "size_bytes": 200 * records.MiB}), 400, "invalid_field"),
        "bad checksum": (http.post("/v1/records", headers=auth, json={**valid, "sha256": "abc"}), 400, "invalid_field"),
        "content type not allowed": (http.post("/v1/records", headers=auth, json={**valid, "content_type": "text/html"}), 400, "invalid_field"),
        "form body": (
            http.post("/v1/records", headers={**Api.auth(clinician), "Content-Type": "application/x-www-form-urlencoded"}, content=b"a=b"),
            415,
            "unsupported_media_type",
        ),
        "no token": (http.post("/v1/records", json=valid), 401, "unauthorized"),
        "not bearer": (http.post("/v1/records", headers={"Authorization": f"Basic {clinician}"}, json=valid), 401, "unauthorized"),
        "forged token": (http.post("/v1/records", headers=Api.auth(_forged_token(service.world)), json=valid), 401, "unauthorized"),
        "tampered token": (http.post("/v1/records", headers=Api.auth(clinician[:-4] + "AAAA"), json=valid), 401, "unauthorized"),
        "unknown query": (
            http.get(f"/v1/patients/{users['pat.one'].subject}/records?limit=5&sort=x", headers=Api.auth(clinician)),
            400,
            "unknown_field",
        ),
        "bad limit": (http.get(f"/v1/patients/{users['pat.one'].subject}/records?limit=0", headers=Api.auth(clinician)), 400, "invalid_field"),
        "no route": (http.get("/v1/nothing", headers=Api.auth(clinician)), 404, "not_found"),
        "wrong method": (http.delete(f"/v1/records/{uuid.uuid4()}", headers=Api.auth(clinician)), 405, "method_not_allowed"),
        "sign-in unknown field": (http.post("/v1/auth/sign-in", json={"username": "a", "password": "b", "remember": True}), 400, "unknown_field"),
        "mfa code not digits": (http.post("/v1/auth/mfa", json={"username": "a", "session": "s", "code": "abcdef"}), 400, "invalid_field"),
    }
    shapes = {}
    for label, (response, status, code) in cases.items():
        body = response.json()
        shapes[label] = (response.status_code, body["error"]["code"], set(body), set(body["error"]))
        assert shapes[label] == (status, code, {"error"}, {"code", "message", "request_id"}), (label, body)
        assert body["error"]["request_id"] == "1-5759e988-bd862e3fe1be46a994272793"
        assert "x" * 50 not in body["error"]["message"]
    assert (service.count("phi.records"), service.count("phi.audit_events")) == before


def test_audit_table_is_append_only_for_the_service_role_and_everyone(service: Service, postgres: Server, tls: Tls) -> None:
    api = service.api
    clinician = api.sign_in("dr.house")
    api.create_document(clinician, service.world.users["pat.one"].subject, CONTENT)

    async def as_service() -> dict[str, str]:
        connection = await connect(
            DatabaseEndpoint(host=postgres.host, port=postgres.port, dbname=service.settings.db_name, user=SERVICE_DB_USER),
            STAND_IN_TOKEN,
            tls_context(tls.ca_file),
            10,
        )
        outcomes = {}
        try:
            assert await connection.fetchval("SELECT count(*) FROM phi.audit_events") == 1
            for label, sql in {
                "update": "UPDATE phi.audit_events SET action = 'nothing'",
                "delete": "DELETE FROM phi.audit_events",
                "truncate": "TRUNCATE phi.audit_events",
                "delete a record": "DELETE FROM phi.records",
                "add a care relationship": "INSERT INTO phi.care_relationships (clinician, patient) SELECT subject, subject FROM phi.profiles",
            }.items():
                try:
                    await connection.execute(sql)
                    outcomes[label] = "allowed"
                except asyncpg.InsufficientPrivilegeError as error:
                    outcomes[label] = "permission denied" if "permission denied" in str(error) else str(error)
        finally:
            await connection.close()
        return outcomes

    assert asyncio.run(as_service()) == dict.fromkeys(
        ("update", "delete", "truncate", "delete a record", "add a care relationship"), "permission denied"
    )

    async def as_master(c: asyncpg.Connection) -> list[str]:
        refused = []
        for sql in ("UPDATE phi.audit_events SET action = 'x'", "DELETE FROM phi.audit_events", "TRUNCATE phi.audit_events"):
            try:
                await c.execute(sql)
            except asyncpg.InsufficientPrivilegeError as error:
                refused.append(str(error))
        return refused

    assert asyncio.run(service.master(as_master)) == ["phi.audit_events is append-only"] * 3
    assert service.count("phi.audit_events") == 1
