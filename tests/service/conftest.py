"""Real PostgreSQL and Redis servers with TLS, started for the service tests (no fakes).

The servers come from Debian's ``postgresql`` and ``redis-server`` packages (``make test`` installs
them: ``make service-test-deps``); PyPI's server wheels are built without TLS, which the readiness
check must exercise. A throwaway CA and server certificate (``localhost`` only) are generated here
with ``cryptography``. PostgreSQL refuses to run as root, so under root it runs as ``nobody``.

Aurora stand-ins (vanilla PostgreSQL has none of RDS's roles; each stand-in is named so):
- ``rds_iam`` is a plain NOLOGIN role created here. ``pg_hba.conf`` lets a role other than the
  bootstrap superuser and the master user log in only if it is a member of ``rds_iam`` (the
  ``+rds_iam`` line), as Aurora admits only IAM tokens for such roles. Vanilla PostgreSQL cannot
  check an IAM token, so a test sets the role's password to the stand-in token it then presents.
- ``mvadmin`` plays the Aurora master user: not a superuser, CREATEROLE, owner of the test
  databases, ADMIN of ``rds_iam`` and allowed to set ``pgaudit.log`` (on Aurora the master user's
  ``rds_superuser`` membership gives both). The ``pgaudit`` library is preloaded (Debian package
  postgresql-NN-pgaudit, as the cluster parameter group preloads it on Aurora); creating the
  extension needs a superuser here, so each test database gets it from the bootstrap superuser
  (on Aurora the master user creates it: the migration's CREATE EXTENSION IF NOT EXISTS).
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DB_USER = "medivault"
DB_PASSWORD = "correct-horse-battery-staple-42"
DB_NAME = "records"
MASTER_USER = "mvadmin"  # the Aurora master user's name (constructs/audited_aurora.py)
MASTER_PASSWORD = "master-password-for-tests-0123456789"
REDIS_TOKEN = "redis-auth-token-for-tests-0123456789"
# The records-service part of Settings where a test needs no real AWS stand-in (moto fixtures
# below replace these with the pool, client, buckets and key they create).
AWS_SETTINGS = {
    "aws_region": "eu-central-1",
    "cognito_user_pool_id": "eu-central-1_TestPool1",
    "cognito_client_id": "testclient0123456789",
    "cognito_region": "eu-central-1",
    "records_bucket": "medivault-test-records",
    "imaging_bucket": "medivault-test-imaging",
    "data_key_arn": "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555",
}
AWS_ENV = {
    "AWS_REGION": "eu-central-1",
    "COGNITO_USER_POOL_ID": "eu-central-1_TestPool1",
    "COGNITO_CLIENT_ID": "testclient0123456789",
    "COGNITO_REGION": "eu-central-1",
    "RECORDS_BUCKET": "medivault-test-records",
    "IMAGING_BUCKET": "medivault-test-imaging",
    "DATA_KEY_ARN": "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555",
}


@pytest.fixture(autouse=True)
def xray_enabled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Other tests (Powertools Tracer) switch the X-Ray SDK off globally; these tests need it on."""
    from aws_xray_sdk import global_sdk_config

    monkeypatch.delenv("AWS_XRAY_SDK_ENABLED", raising=False)
    was_enabled = global_sdk_config.sdk_enabled()
    global_sdk_config.set_sdk_enabled(True)
    yield
    global_sdk_config.set_sdk_enabled(was_enabled)


@dataclass(frozen=True)
class Tls:
    ca_file: str  # the CA that signed the servers' certificate
    other_ca_file: str  # an unrelated CA: a client trusting only this one must refuse the servers
    cert_pem: bytes
    key_pem: bytes


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    log: Path | None = None  # the server's log (PostgreSQL: where pgaudit writes its AUDIT lines)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )  # digitalSignature, keyCertSign, cRLSign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    folder = tmp_path_factory.mktemp("tls")
    ca_key, ca_cert = _ca("MediVault test CA")
    _, other_cert = _ca("Unrelated CA")
    key = _key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        # Only the DNS name: connecting to 127.0.0.1 must fail host-name verification.
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(_pem(ca_cert))
    (folder / "other-ca.pem").write_bytes(_pem(other_cert))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return Tls(str(folder / "ca.pem"), str(folder / "other-ca.pem"), _pem(cert), key_pem)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server did not listen on {port} within {seconds}s: {log.read_text(errors='replace')[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _postgres_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[-3]))
    if not candidates:
        pytest.fail("PostgreSQL server not installed: run `make service-test-deps` (Debian package postgresql)")
    bindir = Path(candidates[-1]).parent
    if not (bindir.parent / "lib" / "pgaudit.so").is_file():
        pytest.fail(f"pgaudit not installed for PostgreSQL {bindir.parts[-2]}: run `make service-test-deps` (postgresql-{bindir.parts[-2]}-pgaudit)")
    return bindir


@pytest.fixture(scope="session")
def postgres(tls: Tls) -> Iterator[Server]:
    bindir = _postgres_bin()
    as_root = os.geteuid() == 0
    account = pwd.getpwnam("nobody") if as_root else None
    user, group = (account.pw_uid, account.pw_gid) if account else (None, None)
    # Under /tmp (world-traversable), not pytest's 0700 basetemp: the server user must reach it.
    base = Path(tempfile.mkdtemp(prefix="mv-pg-"))
    data = base / "data"
    secret_file = base / "pwfile"
    secret_file.write_text(DB_PASSWORD)
    data.mkdir(mode=0o700)
    if account:
        os.chmod(base, 0o755)  # noqa: S103 - the server user must traverse it; the data dir inside is 0700
        for path in (secret_file, data):
            os.chown(path, account.pw_uid, account.pw_gid)
    os.chmod(secret_file, 0o600)
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    init = subprocess.run(
        [str(bindir / "initdb"), "-D", str(data), "-U", DB_USER, f"--pwfile={secret_file}", "--auth=scram-sha-256", "-E", "UTF8"],
        capture_output=True,
        env=env,
        check=False,
        timeout=120,
        cwd=base,
        user=user,
        group=group,
    )
    assert init.returncode == 0, init.stderr.decode(errors="replace")
    (data / "server.crt").write_bytes(tls.cert_pem)
    (data / "server.key").write_bytes(tls.key_pem)
    # TLS only: no plain `host` line, so an unencrypted client is refused. Besides the bootstrap
    # superuser and the master user, only members of the rds_iam stand-in may log in.
    (data / "pg_hba.conf").write_text(
        f"hostssl all {DB_USER} 127.0.0.1/32 scram-sha-256\n"
        f"hostssl all {MASTER_USER} 127.0.0.1/32 scram-sha-256\n"
        "hostssl all +rds_iam 127.0.0.1/32 scram-sha-256\n"
    )
    for name in ("server.crt", "server.key", "pg_hba.conf"):
        if account:
            os.chown(data / name, account.pw_uid, account.pw_gid)
        os.chmod(data / name, 0o600)
    port = _free_port()
    log = base / "postgres.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(data),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "ssl=on",
                "-c",
                "ssl_min_protocol_version=TLSv1.2",
                "-c",
                "ssl_cert_file=server.crt",
                "-c",
                "ssl_key_file=server.key",
                "-c",
                "fsync=off",
                "-c",
                "shared_preload_libraries=pgaudit",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=base,
            user=user,
            group=group,
        )
    try:
        _wait_for_port(port, process, log)
        created = subprocess.run(
            [str(bindir.parent / "bin" / "createdb"), "-h", "localhost", "-p", str(port), "-U", DB_USER, DB_NAME],
            env={**env, "PGPASSWORD": DB_PASSWORD, "PGSSLMODE": "verify-full", "PGSSLROOTCERT": tls.ca_file},
            capture_output=True,
            check=False,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr.decode(errors="replace")
        _psql(bindir, port, tls, DB_NAME, RDS_STAND_IN)
        yield Server("localhost", port, log)
    finally:
        _stop(process)
        shutil.rmtree(base, ignore_errors=True)


RDS_STAND_IN = f"""
CREATE ROLE rds_iam NOLOGIN;
CREATE ROLE {MASTER_USER} LOGIN CREATEROLE PASSWORD '{MASTER_PASSWORD}';
GRANT rds_iam TO {MASTER_USER} WITH ADMIN OPTION;
GRANT SET ON PARAMETER pgaudit.log TO {MASTER_USER};
"""


def _psql(bindir: Path, port: int, tls: Tls, database: str, sql: str) -> None:
    """Run ``sql`` as the bootstrap superuser (test set-up only; the code under test never is one)."""
    done = subprocess.run(
        [str(bindir / "psql"), "-h", "localhost", "-p", str(port), "-U", DB_USER, "-d", database, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        env={
            "PATH": os.environ.get("PATH", ""),
            "PGPASSWORD": DB_PASSWORD,
            "PGSSLMODE": "verify-full",
            "PGSSLROOTCERT": tls.ca_file,
        },
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


_databases = iter(range(1, 10_000))


@pytest.fixture
def empty_database(postgres: Server, tls: Tls) -> str:
    """A new, empty database owned by the master-user stand-in, with pgaudit created (see above)."""
    name = f"migrations_{next(_databases)}"
    bindir = _postgres_bin()
    _psql(bindir, postgres.port, tls, DB_NAME, f"CREATE DATABASE {name} OWNER {MASTER_USER}")
    _psql(bindir, postgres.port, tls, name, "CREATE EXTENSION pgaudit")
    return name


@pytest.fixture(scope="session")
def redis_server(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server not installed: run `make service-test-deps` (Debian package redis-server, built with TLS)")
    folder = tmp_path_factory.mktemp("redis")
    (folder / "server.crt").write_bytes(tls.cert_pem)
    (folder / "server.key").write_bytes(tls.key_pem)
    os.chmod(folder / "server.key", 0o600)
    port = _free_port()
    log = folder / "redis.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                "0",
                "--tls-port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--tls-cert-file",
                str(folder / "server.crt"),
                "--tls-key-file",
                str(folder / "server.key"),
                "--tls-ca-cert-file",
                tls.ca_file,
                "--tls-auth-clients",
                "no",
                "--tls-protocols",
                "TLSv1.2 TLSv1.3",
                "--requirepass",
                REDIS_TOKEN,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, process, log)
        yield Server("localhost", port)
    finally:
        _stop(process)


# --- the records service: moto in server mode for S3, KMS and Cognito --------------------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One ThreadedMotoServer for the session. TOTP codes are really checked (moto accepts any
    code unless MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP is true)."""
    from moto.server import ThreadedMotoServer

    from tests.service.harness import free_port

    previous = os.environ.get("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP")
    os.environ["MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP"] = "true"
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        if previous is None:
            os.environ.pop("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", None)
        else:
            os.environ["MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP"] = previous


@pytest.fixture
def world(moto_endpoint: str) -> Any:
    """Built per test: moto's server shares its backends with the in-process ``mock_aws`` of other
    tests, which resets them all when it ends."""
    from tests.service.harness import build_world

    return build_world(moto_endpoint)


def migrate_as_master(postgres: Server, tls: Tls, database: str, *, service_token: str, world: Any = None) -> str:
    """Migrate ``database`` as the master-user stand-in (as the deploy-time migration task does), give
    the service role ``service_token`` as its password (the IAM token's stand-in) and, with a ``world``,
    seed it (profiles, one care relationship). The one database set-up of the service tests."""
    import asyncio

    from medivault_service import migrate
    from medivault_service.database import SERVICE_DB_USER, DatabaseEndpoint, connect, tls_context

    from tests.service.harness import seed_database

    async def prepare() -> None:
        master = await connect(
            DatabaseEndpoint(host=postgres.host, port=postgres.port, dbname=database, user=MASTER_USER),
            MASTER_PASSWORD,
            tls_context(tls.ca_file),
            10,
        )
        try:
            await migrate.apply(master, migrate.load())
            await master.execute(f"ALTER ROLE {SERVICE_DB_USER} PASSWORD '{service_token}'")
            if world is not None:
                await seed_database(master, world)
        finally:
            await master.close()

    asyncio.run(prepare())
    return database


@pytest.fixture
def records_database(postgres: Server, tls: Tls, empty_database: str, world: Any) -> str:
    """A database migrated by the master-user stand-in, seeded (profiles, one care relationship),
    the service role's stand-in token set."""
    from tests.service.harness import STAND_IN_TOKEN

    return migrate_as_master(postgres, tls, empty_database, service_token=STAND_IN_TOKEN, world=world)


@pytest.fixture
def service(postgres: Server, tls: Tls, redis_server: Server, records_database: str, world: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The records service in process (tests/service/records_service.py); ``indirect`` parameters
    are Settings changes (e.g. a dead Redis port)."""
    from tests.service.records_service import running_service

    yield from running_service(postgres, tls, redis_server, records_database, world, request)
