"""The sandbox smoke check's records scenario (tools/sandbox/smoke.py RecordsScenario), run here end
to end against a real service process (uvicorn, as the task runs it) on local PostgreSQL and Redis
and moto in server mode: sign in as the seeded test clinician (TOTP MFA), create a record, upload
through the presigned PUT, read it back through the presigned GET, try to delete the object
version (refused by Object Lock in COMPLIANCE mode), find the audit rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.conftest import REDIS_TOKEN, Server, Tls
from tests.service.harness import PASSWORD, World, free_port, process_env, s3_client, start_service_process, stop_process
from tools.sandbox.checks import Result
from tools.sandbox.smoke import RecordsScenario, Smoke

pytestmark = pytest.mark.requirements("R4", "R5", "R6", "R12")


def _run(world: World, base: str, **changes: str) -> list[Result]:
    clinician = world.users["dr.house"]
    assert clinician.totp_secret is not None
    arguments = {
        "username": "dr.house",
        "password": PASSWORD,
        "totp_secret": clinician.totp_secret,
        "patient_id": world.users["pat.one"].subject,
        "bucket": world.records_bucket,
        **changes,
    }
    scenario = RecordsScenario(base_url=base, s3=s3_client(world.endpoint), **arguments)  # type: ignore[arg-type]
    return list(scenario.results())


def test_records_scenario_passes_end_to_end(
    postgres: Server, tls: Tls, redis_server: Server, records_database: str, world: World, tmp_path: Path
) -> None:
    port = free_port()
    env = process_env(
        world,
        port=port,
        db_host=postgres.host,
        db_port=postgres.port,
        db_name=records_database,
        ca_file=tls.ca_file,
        redis_host=redis_server.host,
        redis_port=redis_server.port,
        redis_token=REDIS_TOKEN,
    )
    server = start_service_process(env, tmp_path / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        results = _run(world, base)
        assert [(r.name, r.ok) for r in results] == [
            ("sign-in with MFA", True),
            ("create a record", True),
            ("upload through the presigned PUT", True),
            ("confirm the upload", True),
            ("read back through the presigned GET", True),
            ("the record's object version cannot be deleted", True),
            ("audit rows", True),
        ], [r.line() for r in results]
        # It fails where it should: a patient the clinician has no care relationship with.
        refused = _run(world, base, patient_id=world.users["pat.two"].subject)
        assert [(r.name, r.ok) for r in refused] == [("sign-in with MFA", True), ("create a record", False)]
        wrong = _run(world, base, password="Wrong-password-123!")
        assert [(r.name, r.ok, r.detail) for r in wrong] == [("sign-in", False, "answered 401 invalid_credentials")]
        # Wired into the smoke check's list when a test clinician is given.
        smoke = Smoke({}, aws=None)  # type: ignore[arg-type]
        smoke.records = RecordsScenario(
            base,
            "dr.house",
            PASSWORD,
            world.users["dr.house"].totp_secret or "",
            world.users["pat.one"].subject,
            s3_client(world.endpoint),
            world.records_bucket,
        )
        assert [r.ok for r in smoke.records_scenario()] == [True] * 7
    finally:
        stop_process(server)
    log = (tmp_path / "server.log").read_text()
    assert PASSWORD not in log and REDIS_TOKEN not in log and '"message": "started"' in log
