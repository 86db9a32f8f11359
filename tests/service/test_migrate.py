"""Schema migrations against the real PostgreSQL of tests/service/conftest.py, run as the stand-in
of the Aurora master user (``mvadmin``: not a superuser). The service role's privileges are then
tried from a session of that role, logged in through the ``+rds_iam`` stand-in (see conftest).

AWS documentation the migrations follow:
- https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.DBAccounts.html (GRANT rds_iam)
- https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Appendix.PostgreSQL.CommonDBATasks.pgaudit.basic-setup.html
- https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Appendix.PostgreSQL.CommonDBATasks.pgaudit.auditing.html
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import boto3
import pytest
from medivault_service import migrate
from medivault_service.database import SERVICE_DB_USER, DatabaseEndpoint, connect, tls_context
from moto import mock_aws

from tests.service.conftest import MASTER_PASSWORD, MASTER_USER, Server, Tls

pytestmark = pytest.mark.requirements("R6", "R10", "R12")

T = TypeVar("T")
STAND_IN_TOKEN = "stand-in-for-an-iam-token-0123456789"
LATER_MIGRATION = """
CREATE TABLE phi.later_records (id bigserial PRIMARY KEY, patient text NOT NULL, title text NOT NULL);
CREATE SCHEMA internal;
CREATE TABLE internal.secrets (value text);
"""


def _run(coroutine: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await coroutine

    return asyncio.run(wrapper())


def _endpoint(postgres: Server, database: str, user: str) -> DatabaseEndpoint:
    return DatabaseEndpoint(host=postgres.host, port=postgres.port, dbname=database, user=user)


async def _as_master(postgres: Server, tls: Tls, database: str, action: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    connection = await connect(_endpoint(postgres, database, MASTER_USER), MASTER_PASSWORD, tls_context(tls.ca_file), 10)
    try:
        return await action(connection)
    finally:
        await connection.close()


def _apply(postgres: Server, tls: Tls, database: str, migrations: tuple[migrate.Migration, ...] | None = None) -> migrate.Result:
    return _run(_as_master(postgres, tls, database, lambda c: migrate.apply(c, migrations or migrate.load())))


def _with_later(tmp_path: Path, extra: dict[str, str]) -> tuple[migrate.Migration, ...]:
    for path in migrate.MIGRATIONS_DIR.glob("*.sql"):
        shutil.copy(path, tmp_path / path.name)
    for name, sql in extra.items():
        (tmp_path / name).write_text(sql)
    return migrate.load(tmp_path)


@pytest.fixture
def service_login(postgres: Server, tls: Tls) -> Iterator[Callable[[str], Awaitable[asyncpg.Connection]]]:
    """Log in as the service role. Aurora would check an IAM token; vanilla PostgreSQL checks the
    stand-in password the master sets here (the role itself is passwordless after migration)."""

    async def login(database: str) -> asyncpg.Connection:
        await _as_master(postgres, tls, database, lambda c: c.execute(f"ALTER ROLE {SERVICE_DB_USER} PASSWORD '{STAND_IN_TOKEN}'"))
        return await connect(_endpoint(postgres, database, SERVICE_DB_USER), STAND_IN_TOKEN, tls_context(tls.ca_file), 10)

    yield login


def test_applies_from_empty_then_is_idempotent(postgres: Server, tls: Tls, empty_database: str) -> None:
    first = _apply(postgres, tls, empty_database)
    assert first.applied == ["0001_service_role_and_phi_schema.sql", "0002_breakglass_reader.sql", "0003_records_profiles_audit.sql"]
    second = _apply(postgres, tls, empty_database)
    assert (second.applied, second.skipped, second.unknown_versions) == ([], 3, [])

    async def ledger(c: asyncpg.Connection) -> list[Any]:
        return list(await c.fetch(f"SELECT version, name, checksum, applied_by FROM {migrate.LEDGER_TABLE} ORDER BY version"))

    rows = _run(_as_master(postgres, tls, empty_database, ledger))
    assert [(r["version"], r["applied_by"]) for r in rows] == [(1, MASTER_USER), (2, MASTER_USER), (3, MASTER_USER)]
    assert [r["checksum"] for r in rows] == [m.checksum for m in migrate.load()]


def test_service_role_is_iam_only_audited_and_not_privileged(postgres: Server, tls: Tls, empty_database: str) -> None:
    _apply(postgres, tls, empty_database)

    async def role(c: asyncpg.Connection) -> Any:
        return await c.fetchrow(
            "SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls, r.rolreplication, r.rolcanlogin, "
            "pg_has_role(r.oid, 'rds_iam', 'MEMBER') AS iam, s.setconfig "
            "FROM pg_roles r LEFT JOIN pg_db_role_setting s ON s.setrole = r.oid AND s.setdatabase = 0 WHERE r.rolname = $1",
            SERVICE_DB_USER,
        )

    row = _run(_as_master(postgres, tls, empty_database, role))
    assert dict(row) == {
        "rolsuper": False,
        "rolcreaterole": False,
        "rolcreatedb": False,
        "rolbypassrls": False,
        "rolreplication": False,
        "rolcanlogin": True,
        "iam": True,
        "setconfig": ["pgaudit.log=read, write"],
    }


def test_service_role_reads_and_writes_phi_tables_of_later_migrations_and_nothing_more(
    postgres: Server, tls: Tls, empty_database: str, tmp_path: Path, service_login: Callable[[str], Awaitable[asyncpg.Connection]]
) -> None:
    _apply(postgres, tls, empty_database, _with_later(tmp_path, {"0004_later.sql": LATER_MIGRATION}))

    async def scenario() -> dict[str, str]:
        outcomes: dict[str, str] = {}
        service = await service_login(empty_database)
        try:
            new_id = await service.fetchval("INSERT INTO phi.later_records (patient, title) VALUES ($1, $2) RETURNING id", "p-1", "X-ray")
            await service.execute("UPDATE phi.later_records SET title = $1 WHERE id = $2", "MRI", new_id)
            assert await service.fetchval("SELECT title FROM phi.later_records WHERE id = $1", new_id) == "MRI"
            for label, sql in {
                "delete": "DELETE FROM phi.later_records",
                "truncate": "TRUNCATE phi.later_records",
                "create in phi": "CREATE TABLE phi.mine (x int)",
                "create in public": "CREATE TABLE public.mine (x int)",
                "create schema": "CREATE SCHEMA mine",
                "alter": "ALTER TABLE phi.later_records ADD COLUMN x int",
                "drop": "DROP TABLE phi.later_records",
                "read the ledger": f"SELECT * FROM {migrate.LEDGER_TABLE}",
                "read outside phi": "SELECT * FROM internal.secrets",
                "write outside phi": "INSERT INTO internal.secrets VALUES ('x')",
                "switch audit off": "SET pgaudit.log = 'none'",
                "create role": "CREATE ROLE sneaky LOGIN",
            }.items():
                try:
                    await service.execute(sql)
                    outcomes[label] = "allowed"
                except (asyncpg.InsufficientPrivilegeError, asyncpg.InvalidSchemaNameError) as error:
                    outcomes[label] = f"refused ({type(error).__name__})"
            # No grant option: PostgreSQL only warns, and nothing is granted onward.
            await service.execute("GRANT SELECT ON phi.later_records TO PUBLIC")
            granted = await service.fetchval("SELECT has_table_privilege('public', 'phi.later_records', 'SELECT')")
            outcomes["grant onward"] = "allowed" if granted else "refused"
        finally:
            await service.close()
        return outcomes

    outcomes = _run(scenario())
    assert {k: v.startswith("refused") for k, v in outcomes.items()} == dict.fromkeys(outcomes, True), outcomes


def test_reads_and_writes_of_the_service_role_are_audited_by_pgaudit(
    postgres: Server, tls: Tls, empty_database: str, tmp_path: Path, service_login: Callable[[str], Awaitable[asyncpg.Connection]]
) -> None:
    _apply(postgres, tls, empty_database, _with_later(tmp_path, {"0004_later.sql": LATER_MIGRATION}))
    marker = uuid.uuid4().hex

    async def scenario() -> None:
        service = await service_login(empty_database)
        try:
            await service.execute(f"INSERT INTO phi.later_records (patient, title) VALUES ('p-{marker}', 'write-{marker}')")
            await service.fetch(f"SELECT /* read-{marker} */ title FROM phi.later_records")
        finally:
            await service.close()
        # The master user's reads are not session-audited (on Aurora it is audited for DDL and roles).
        await _as_master(postgres, tls, empty_database, lambda c: c.fetch(f"SELECT /* master-{marker} */ title FROM phi.later_records"))

    _run(scenario())
    assert postgres.log is not None
    audit = [line for line in postgres.log.read_text(errors="replace").splitlines() if "AUDIT: SESSION" in line and marker in line]
    assert any(",WRITE,INSERT," in line and f"write-{marker}" in line for line in audit), audit
    assert any(",READ,SELECT," in line and f"read-{marker}" in line for line in audit), audit
    assert not any(f"master-{marker}" in line for line in audit), audit


def test_login_needs_rds_iam(postgres: Server, tls: Tls, empty_database: str, service_login: Callable[[str], Awaitable[asyncpg.Connection]]) -> None:
    """Stand-in for Aurora: only rds_iam members authenticate the IAM way; without the grant the
    first migration makes, the same role and token are refused."""
    _apply(postgres, tls, empty_database)
    revoke = f"REVOKE rds_iam FROM {SERVICE_DB_USER}"
    _run(_as_master(postgres, tls, empty_database, lambda c: c.execute(revoke)))
    try:
        with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match=r"no pg_hba\.conf entry"):
            _run(service_login(empty_database))
    finally:
        _run(_as_master(postgres, tls, empty_database, lambda c: c.execute(f"GRANT rds_iam TO {SERVICE_DB_USER}")))

    async def login_works() -> None:
        connection = await service_login(empty_database)
        await connection.close()

    _run(login_works())


def test_breakglass_reader_reads_only(postgres: Server, tls: Tls, empty_database: str, tmp_path: Path) -> None:
    _apply(postgres, tls, empty_database, _with_later(tmp_path, {"0004_later.sql": LATER_MIGRATION}))

    async def scenario() -> tuple[int, str]:
        await _as_master(postgres, tls, empty_database, lambda c: c.execute(f"ALTER ROLE medivault_breakglass_read PASSWORD '{STAND_IN_TOKEN}'"))
        reader = await connect(_endpoint(postgres, empty_database, "medivault_breakglass_read"), STAND_IN_TOKEN, tls_context(tls.ca_file), 10)
        try:
            count = int(await reader.fetchval("SELECT count(*) FROM phi.later_records"))
            try:
                await reader.execute("SET default_transaction_read_only = off")  # the grants, not this setting, refuse
                await reader.execute("INSERT INTO phi.later_records (patient, title) VALUES ('x', 'y')")
                return count, "allowed"
            except asyncpg.InsufficientPrivilegeError:
                return count, "refused"
        finally:
            await reader.close()

    assert _run(scenario()) == (0, "refused")


def test_failed_migration_leaves_nothing_and_can_be_fixed(postgres: Server, tls: Tls, empty_database: str, tmp_path: Path) -> None:
    broken = _with_later(tmp_path, {"0004_later.sql": "CREATE TABLE phi.half (x int);\nSELECT 1 / 0;\n"})
    with pytest.raises(asyncpg.DivisionByZeroError):
        _apply(postgres, tls, empty_database, broken)

    async def state(c: asyncpg.Connection) -> tuple[Any, list[int]]:
        table = await c.fetchval("SELECT to_regclass('phi.half')")
        versions = [r["version"] for r in await c.fetch(f"SELECT version FROM {migrate.LEDGER_TABLE} ORDER BY version")]
        return table, versions

    assert _run(_as_master(postgres, tls, empty_database, state)) == (None, [1, 2, 3])
    (tmp_path / "0004_later.sql").write_text("CREATE TABLE phi.half (x int);\n")
    assert _apply(postgres, tls, empty_database, migrate.load(tmp_path)).applied == ["0004_later.sql"]


def test_changed_applied_migration_is_refused(postgres: Server, tls: Tls, empty_database: str, tmp_path: Path) -> None:
    _apply(postgres, tls, empty_database)
    edited = _with_later(tmp_path, {})
    (tmp_path / "0002_breakglass_reader.sql").write_text(edited[1].sql + "\n-- edited\n")
    with pytest.raises(migrate.MigrationSetError, match=r"0002_breakglass_reader\.sql was changed after it was applied"):
        _apply(postgres, tls, empty_database, migrate.load(tmp_path))


def test_database_ahead_of_the_image_is_left_alone(postgres: Server, tls: Tls, empty_database: str, tmp_path: Path) -> None:
    """A CloudFormation rollback re-runs the previous image's (shorter) migration set: no failure."""
    _apply(postgres, tls, empty_database, _with_later(tmp_path, {"0004_later.sql": LATER_MIGRATION}))
    older = _apply(postgres, tls, empty_database)
    assert (older.applied, older.unknown_versions) == ([], [4])


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"0001_a.sql": "", "0003_c.sql": ""}, "without gaps"),
        ({"0001_a.sql": "", "0001_b.sql": ""}, "without gaps"),
        ({"1_a.sql": ""}, "NNNN_lower_case_name.sql"),
        ({"0001_Upper.sql": ""}, "NNNN_lower_case_name.sql"),
        ({}, "no migrations"),
    ],
)
def test_malformed_migration_sets_are_refused(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, sql in files.items():
        (tmp_path / name).write_text(sql)
    with pytest.raises(migrate.MigrationSetError, match=message):
        migrate.load(tmp_path)


def test_set_hash_follows_names_and_contents(tmp_path: Path) -> None:
    base = migrate.set_hash(_with_later(tmp_path, {}))
    assert base == migrate.set_hash(migrate.load())
    (tmp_path / "0002_breakglass_reader.sql").write_text("-- other\n")
    assert migrate.set_hash(migrate.load(tmp_path)) != base


# --- the task's entry point: settings, master secret (moto), exit codes ------------------------------


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_DEFAULT_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="eu-central-1")


def _master_secret(postgres: Server, password: str) -> str:
    # What RDS writes (plus the target attachment's host and port); no dbname: Aurora's default database.
    return json.dumps({"engine": "postgres", "host": postgres.host, "port": postgres.port, "username": MASTER_USER, "password": password})


def _env(arn: str, tls: Tls, database: str, **extra: str) -> dict[str, str]:
    return {"DB_SECRET_ARN": arn, "DB_CA_FILE": tls.ca_file, "DB_REGION": "eu-central-1", "DB_NAME": database, **extra}


def test_main_migrates_with_the_master_secret(secrets: Any, postgres: Server, tls: Tls, empty_database: str) -> None:
    arn = secrets.create_secret(Name="master", SecretString=_master_secret(postgres, MASTER_PASSWORD))["ARN"]
    expected = migrate.set_hash(migrate.load())
    assert migrate.main(_env(arn, tls, empty_database, EXPECTED_MIGRATIONS_HASH=expected), secrets) == migrate.EXIT_OK
    assert _apply(postgres, tls, empty_database).skipped == len(migrate.load())


def test_main_logs_in_with_the_pending_secret_during_rotation(secrets: Any, postgres: Server, tls: Tls, empty_database: str) -> None:
    """Rotation has set the new password in the database but not yet promoted it to AWSCURRENT."""
    arn = secrets.create_secret(Name="master", SecretString=_master_secret(postgres, "the-old-password"))["ARN"]
    secrets.put_secret_value(SecretId=arn, SecretString=_master_secret(postgres, MASTER_PASSWORD), VersionStages=["AWSPENDING"])
    assert migrate.main(_env(arn, tls, empty_database, DB_AUTH_RETRY_SECONDS="0"), secrets) == migrate.EXIT_OK


def test_main_exit_codes(secrets: Any, postgres: Server, tls: Tls, empty_database: str) -> None:
    good = secrets.create_secret(Name="good", SecretString=_master_secret(postgres, MASTER_PASSWORD))["ARN"]
    wrong = secrets.create_secret(Name="wrong", SecretString=_master_secret(postgres, "wrong"))["ARN"]
    malformed = secrets.create_secret(Name="malformed", SecretString=json.dumps({"host": "h"}))["ARN"]
    assert migrate.main({"DB_CA_FILE": tls.ca_file, "DB_REGION": "eu-central-1"}, secrets) == migrate.EXIT_BAD_CONFIGURATION
    assert migrate.main(_env(good, tls, empty_database, EXPECTED_MIGRATIONS_HASH="ab" * 32), secrets) == migrate.EXIT_BAD_MIGRATION_SET
    assert migrate.main(_env(malformed, tls, empty_database), secrets) == migrate.EXIT_BAD_CONFIGURATION
    assert migrate.main(_env(wrong, tls, empty_database, DB_AUTH_RETRY_SECONDS="0"), secrets) == migrate.EXIT_CANNOT_CONNECT
    assert migrate.main(_env(good, _other_ca(tls), empty_database), secrets) == migrate.EXIT_CANNOT_CONNECT
    # Nothing was applied by any of the refused runs.
    assert _apply(postgres, tls, empty_database).applied == [m.file_name for m in migrate.load()]


def _other_ca(tls: Tls) -> Tls:
    """Trusting an unrelated CA only: the server's certificate must be refused."""
    return Tls(tls.other_ca_file, tls.other_ca_file, tls.cert_pem, tls.key_pem)
