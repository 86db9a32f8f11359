"""Profiles through Redis (hit, miss, TTL, invalidation, cache down) and the log discipline: a whole
scenario, including failed readiness with a refused database token and a refused Redis AUTH token,
leaves no record content, title, name, password, token or secret in any log line."""

from __future__ import annotations

import dataclasses
import json
import logging
import ssl

import pytest
import requests
from aws_xray_sdk.core import AsyncAWSXRayRecorder
from medivault_service.api import create_app
from redis import Redis
from starlette.testclient import TestClient

from tests.service.api import Api
from tests.service.conftest import MASTER_PASSWORD, REDIS_TOKEN, Server, Tls
from tests.service.harness import PASSWORD, STAND_IN_TOKEN, free_port
from tests.service.records_service import CONTENT, TITLE, TRACE, Service
from tests.service.test_readiness import CapturingEmitter, StandInToken
from tests.service.test_records_api import _upload

pytestmark = pytest.mark.requirements("R5", "R10", "R13")


def _redis(redis_server: Server, tls: Tls) -> Redis:
    return Redis(
        host=redis_server.host,
        port=redis_server.port,
        password=REDIS_TOKEN,
        ssl=True,
        ssl_ca_certs=tls.ca_file,
        ssl_min_version=ssl.TLSVersion.TLSv1_2,
        decode_responses=True,
    )


def test_profiles_are_read_through_the_cache_with_a_bounded_ttl_and_invalidated_on_update(service: Service, redis_server: Server, tls: Tls) -> None:
    api, http = service.api, service.http
    token = api.sign_in("pat.one")
    subject = service.world.users["pat.one"].subject
    cache = http.app.state.profiles.cache  # type: ignore[attr-defined]
    direct = _redis(redis_server, tls)
    direct.delete(f"profile:v1:{subject}")
    first = http.get("/v1/profile", headers=Api.auth(token)).json()["profile"]
    second = http.get("/v1/profile", headers=Api.auth(token)).json()["profile"]
    assert first == second and first["display_name"] == service.world.users["pat.one"].display_name
    assert (cache.misses, cache.hits) == (1, 1)
    assert 0 < direct.ttl(f"profile:v1:{subject}") <= service.settings.profile_cache_seconds
    # The cached value is what a hit answers (proof that the second read did not go to PostgreSQL).
    direct.set(f"profile:v1:{subject}", json.dumps({**first, "display_name": "from-the-cache"}), ex=60)
    assert http.get("/v1/profile", headers=Api.auth(token)).json()["profile"]["display_name"] == "from-the-cache"
    # An update writes PostgreSQL, then deletes the key: the next read is fresh.
    updated = http.put("/v1/profile", headers=Api.auth(token), json={"display_name": "Patricia Renamed"})
    assert updated.status_code == 200
    assert direct.get(f"profile:v1:{subject}") is None
    assert http.get("/v1/profile", headers=Api.auth(token)).json()["profile"]["display_name"] == "Patricia Renamed"
    assert [a["action"] for a in service.audit()] == ["profile.update"]
    direct.close()


DEAD_PORT = free_port()  # nothing listens there


@pytest.mark.parametrize("service", [{"redis_port": DEAD_PORT}], indirect=True)
def test_service_stays_correct_when_the_cache_is_down(service: Service) -> None:
    api, http = service.api, service.http
    clinician = api.sign_in("dr.house")
    patient = service.world.users["pat.one"]
    created = api.create_document(clinician, patient.subject, CONTENT, title=TITLE).json()
    assert _upload(created, CONTENT).status_code == 200
    assert api.confirm(clinician, created["record"]["id"]).status_code == 200
    got = api.get(clinician, created["record"]["id"])
    assert got.status_code == 200 and got.json()["patient"]["display_name"] == patient.display_name
    assert requests.get(got.json()["download"]["url"], timeout=10).content == CONTENT
    own = api.sign_in("pat.one")
    assert http.put("/v1/profile", headers=Api.auth(own), json={"display_name": "Patricia Offline"}).status_code == 200
    assert http.get("/v1/profile", headers=Api.auth(own)).json()["profile"]["display_name"] == "Patricia Offline"
    ready = http.get("/readyz")
    # The cache is down, the service is not: the task stays in the target group, marked degraded.
    assert (ready.status_code, ready.json()) == (200, {"status": "degraded", "checks": {"database": "ok", "cache": "failed"}})
    cache = http.app.state.profiles.cache  # type: ignore[attr-defined]
    assert cache.errors >= 1 and cache.hits == 0
    assert any('"cache unavailable, reading from the database"' in line for line in service.logs.lines)


def test_no_phi_token_password_or_secret_in_any_log_line(service: Service, postgres: Server, tls: Tls, redis_server: Server) -> None:
    api, http, world = service.api, service.http, service.world
    first = http.post("/v1/auth/sign-in", json={"username": "dr.house", "password": PASSWORD}).json()
    secrets = [
        PASSWORD,
        first["session"],
        REDIS_TOKEN,
        STAND_IN_TOKEN,
        MASTER_PASSWORD,
        "wrong-token-for-the-failed-readiness",
        "wrong-redis-token-0123",
    ]
    clinician = api.sign_in("dr.house")
    refresh = http.post("/v1/auth/sign-in", json={"username": "pat.one", "password": PASSWORD}).json()
    secrets += [clinician, refresh["access_token"], refresh["refresh_token"], refresh["id_token"]]
    http.post("/v1/auth/refresh", json={"refresh_token": refresh["refresh_token"]})
    http.post("/v1/auth/sign-in", json={"username": "dr.house", "password": "Wrong-" + PASSWORD})
    created = api.create_document(clinician, world.users["pat.one"].subject, CONTENT, title=TITLE).json()
    _upload(created, CONTENT)
    api.confirm(clinician, created["record"]["id"])
    got = api.get(clinician, created["record"]["id"]).json()
    signature = got["download"]["url"].split("X-Amz-Signature=")[1]
    secrets += [signature, created["upload"]["url"].split("X-Amz-Signature=")[1]]
    api.list(clinician, world.users["pat.one"].subject)
    http.put("/v1/profile", headers=Api.auth(clinician), json={"display_name": "Dr Gregory Renamed"})
    http.post("/v1/records", headers=Api.auth(clinician[:-3] + "abc"), json={"title": TITLE})
    http.post("/v1/records", headers={**Api.auth(clinician), "Content-Type": "application/json"}, content=b'{"title": "' + TITLE.encode())
    http.post("/v1/records", headers=Api.auth(clinician), json={"title": TITLE, "extra": CONTENT.decode()})
    http.get("/readyz")

    # Failed readiness: the database refuses the token, Redis refuses the AUTH token. The start-up
    # line of each app is captured too.
    for changes, token in (({}, "wrong-token-for-the-failed-readiness"), ({"redis_auth_token": "wrong-redis-token-0123"}, STAND_IN_TOKEN)):
        recorder = AsyncAWSXRayRecorder()
        recorder.configure(emitter=CapturingEmitter())
        app = create_app(settings=dataclasses.replace(service.settings, **changes), db_token=StandInToken(token), recorder=recorder)
        with TestClient(app, headers={"X-Amzn-Trace-Id": TRACE}) as other:
            # A refused database token fails readiness; a refused Redis AUTH token only degrades it.
            assert other.get("/readyz").status_code == (200 if "redis_auth_token" in changes else 503)

    # Every logger of the process except the test's own infrastructure: moto's HTTP server
    # (werkzeug, which logs the presigned URLs it receives) and the test client (httpx).
    lines = [line for line in service.logs.lines if json.loads(line)["logger"] not in ("werkzeug", "httpx")]
    assert any('"message": "database check failed"' in line for line in lines)
    assert any('"message": "cache check failed"' in line for line in lines)
    assert any('"message": "started"' in line for line in lines)
    phi = [CONTENT.decode(), "CONFIDENTIAL-CONTENT-MARKER", TITLE, "CONFIDENTIAL-TITLE-MARKER", "Dr Gregory Renamed"]
    phi += [u.display_name for u in world.users.values()]
    leaks = [(needle[:30], line[:200]) for line in lines for needle in phi + secrets if needle and needle in line]
    assert leaks == [], "\n".join(f"{n} in {line}" for n, line in leaks)
    assert len(lines) > 20  # the scenario really logged


def test_log_discipline_check_would_see_a_leak(service: Service) -> None:
    """The check above is not vacuous: a handler that logs a title is caught by the same capture."""
    logging.getLogger("medivault.records").info("oops", extra={"title": TITLE})
    assert any(TITLE in line for line in service.logs.lines)
