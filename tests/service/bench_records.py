"""``make bench-service``: one records-service process as the task runs it, pinned to one CPU, against
the real PostgreSQL and Redis of conftest.py and moto (server mode) for S3 and Cognito.

Not collected by the test suite (the file name does not match test_*.py); ``make bench-service``
passes it to pytest explicitly. Prints requests/s and p50/p99 per scenario and writes the figures
to ``$BENCH_OUT`` (default /tmp/medivault-bench-service.json).

- The server: ``taskset -c 0 python service/bench.py serve`` (uvicorn, one process, one event loop,
  as the Dockerfile's CMD). The production task has 1 vCPU (app.cpu = 1024 units, shared with the
  X-Ray sidecar); one core of this machine stands for it. No cgroup quota is set (none available
  here), so the figure is for a whole core, not a throttled one.
- The load generator, PostgreSQL, Redis and moto run on the other core (``taskset -c 1`` for this
  process; the servers started by the fixtures inherit it).
- Scenarios: get record with the patient's profile in Redis (hit), the same with the key deleted
  before each request (miss: PostgreSQL read + Redis SET), list a patient's 20 records, create a
  document record (metadata row + audit row + presigned PUT).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import ssl
import uuid
from pathlib import Path
from typing import Any

import requests
from medivault_service.database import DatabaseEndpoint, connect, tls_context
from redis import Redis

from tests.service.api import Api
from tests.service.conftest import MASTER_PASSWORD, MASTER_USER, REDIS_TOKEN, Server, Tls
from tests.service.harness import World, free_port, process_env, start_service_process, stop_process

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,4,16").split(",")]
WORKERS = max(CONCURRENCY)


def _pin(cpu: int) -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {cpu})


# At import (collection), before the fixtures start PostgreSQL, Redis and moto: they inherit CPU 1.
_pin(1)


def _seed_patients(postgres: Server, tls: Tls, database: str, clinician: str, count: int) -> list[str]:
    patients = [str(uuid.uuid4()) for _ in range(count)]

    async def seed() -> None:
        master = await connect(
            DatabaseEndpoint(host=postgres.host, port=postgres.port, dbname=database, user=MASTER_USER), MASTER_PASSWORD, tls_context(tls.ca_file), 10
        )
        try:
            for i, patient in enumerate(patients):
                await master.execute(
                    "INSERT INTO phi.profiles (subject, kind, display_name) VALUES ($1, 'patient', $2)", uuid.UUID(patient), f"Bench {i}"
                )
                await master.execute(
                    "INSERT INTO phi.care_relationships (clinician, patient) VALUES ($1, $2)", uuid.UUID(clinician), uuid.UUID(patient)
                )
        finally:
            await master.close()

    asyncio.run(seed())
    return patients


def test_bench_records_service(postgres: Server, tls: Tls, redis_server: Server, records_database: str, world: World, tmp_path: Path) -> None:
    from bench import load, process_cpu_seconds, report  # service/bench.py (service/ is on pytest's pythonpath)

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
    log = tmp_path / "server.log"
    server = start_service_process(env, log, cpu=0)
    base = f"http://127.0.0.1:{port}"
    try:
        session = requests.Session()
        api = Api(session, world, base)
        clinician = api.sign_in("dr.house")
        auth = {"Authorization": f"Bearer {clinician}", "X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0"}
        clinician_subject = world.users["dr.house"].subject
        patients = _seed_patients(postgres, tls, records_database, clinician_subject, WORKERS)
        data = b"%PDF-1.7 bench"
        record_of: list[str] = []
        for patient in patients:
            created = api.create_document(clinician, patient, data).json()
            assert requests.put(created["upload"]["url"], data=data, headers=created["upload"]["headers"], timeout=10).status_code == 200
            assert api.confirm(clinician, created["record"]["id"]).status_code == 200
            record_of.append(created["record"]["id"])
        listed = patients[0]
        for _ in range(19):
            api.create_document(clinician, listed, data)
        redis_clients = [
            Redis(
                host=redis_server.host,
                port=redis_server.port,
                password=REDIS_TOKEN,
                ssl=True,
                ssl_ca_certs=tls.ca_file,
                ssl_min_version=ssl.TLSVersion.TLSv1_2,
            )
            for _ in range(WORKERS)
        ]
        sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
        create_body = json.dumps(
            {"patient_id": listed, "kind": "document", "title": "bench", "content_type": "application/pdf", "size_bytes": len(data), "sha256": sha}
        ).encode()

        def get(index: int, iteration: int) -> tuple[str, str, dict[str, str], bytes | None]:
            return "GET", f"/v1/records/{record_of[index]}", auth, None

        def miss(index: int) -> None:
            redis_clients[index].delete(f"profile:v1:{patients[index]}")

        scenarios: list[tuple[str, Any, int, Any]] = [
            ("get record (cache hit)", get, 200, None),
            ("get record (cache miss)", get, 200, miss),
            ("list records (20)", lambda i, n: ("GET", f"/v1/patients/{listed}/records?limit=20", auth, None), 200, None),
            ("create record", lambda i, n: ("POST", "/v1/records", {**auth, "Content-Type": "application/json"}, create_body), 201, None),
        ]
        for index in range(WORKERS):  # warm: pool connections, profiles in the cache
            session.get(f"{base}/v1/records/{record_of[index]}", headers=auth, timeout=10)
        results = []
        for name, request, expect, before in scenarios:
            for concurrency in CONCURRENCY:
                results.append(
                    load(
                        base,
                        name,
                        request,
                        concurrency=concurrency,
                        seconds=SECONDS,
                        expect=expect,
                        before=before,
                        server_cpu=lambda: process_cpu_seconds(server.pid),
                    )
                )
        load_average = os.getloadavg()
        header = (
            f"records service, one process pinned to CPU 0 (taskset), {SECONDS:.0f} s per row, machine: {os.cpu_count()} CPUs, "
            f"load average {load_average[0]:.2f} {load_average[1]:.2f} {load_average[2]:.2f}"
        )
        print("\n" + report(results, header))
        out = Path(os.environ.get("BENCH_OUT", "/tmp/medivault-bench-service.json"))
        out.write_text(json.dumps({"header": header, "results": [r.as_dict() for r in results]}, indent=2))
        assert all(r.errors == 0 for r in results), [r.row() for r in results if r.errors]
    finally:
        stop_process(server)
