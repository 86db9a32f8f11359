"""Schema migrations, run at deploy time as the Aurora master user: ``python -m medivault_service.migrate``.

The migration step is a one-off ECS task of the service's own image (constructs/database_migration.py)
that CloudFormation starts through a custom resource whenever the migration set changes; the
service itself never changes the schema and never sees the master secret.

- Migrations are ``migrations/NNNN_name.sql`` files, numbered from 0001 without gaps, applied in
  order, each in its own transaction together with its row in ``medivault_migrations.schema_migrations``
  (a schema the service role cannot read). A failed migration leaves nothing behind.
- Idempotent: applied versions are skipped. An applied migration whose file changed is refused
  (migrations are append-only). Versions in the database that this image does not know (a rollback
  to an older image) are reported and left alone: migrations are forward-only and additive, so
  CloudFormation's rollback of the custom resource must not fail.
- A session-level advisory lock serialises concurrent runs.
- ``EXPECTED_MIGRATIONS_HASH`` (set by the custom resource from the template) must equal the hash of
  the migration files in this image, so a stale image never runs in place of the one deployed.
- The master secret is read at run time (AWSCURRENT); a login refused while Secrets Manager is
  rotating it (the first rotation starts right after the cluster is created) is retried with
  AWSPENDING and then AWSCURRENT again until ``DB_AUTH_RETRY_SECONDS``:
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html

Exit codes (the custom resource reports them): 0 done, 1 a migration failed, 2 bad configuration,
3 the migration set is invalid or not the one deployed, 4 could not connect or log in.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import boto3
from botocore.exceptions import BotoCoreError, ClientError

from medivault_service import jsonlog
from medivault_service.database import DatabaseEndpoint, connect, tls_context

log = logging.getLogger("medivault.migrate")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
LEDGER_SCHEMA = "medivault_migrations"
LEDGER_TABLE = f"{LEDGER_SCHEMA}.schema_migrations"
ADVISORY_LOCK_KEY = 0x4D56_4D49  # "MVMI"
DEFAULT_DATABASE = "postgres"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

EXIT_OK = 0
EXIT_MIGRATION_FAILED = 1
EXIT_BAD_CONFIGURATION = 2
EXIT_BAD_MIGRATION_SET = 3
EXIT_CANNOT_CONNECT = 4

_LEDGER_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {LEDGER_SCHEMA};
REVOKE ALL ON SCHEMA {LEDGER_SCHEMA} FROM PUBLIC;
CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT current_user
);
REVOKE ALL ON {LEDGER_TABLE} FROM PUBLIC;
"""


class MigrationSetError(ValueError):
    """The migration files are malformed, or differ from what the database has applied."""


class ConfigurationError(ValueError):
    """A required environment variable is missing or malformed."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def file_name(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load(directory: Path = MIGRATIONS_DIR) -> tuple[Migration, ...]:
    """Every ``*.sql`` file of ``directory``, ordered; names and numbering are checked."""
    migrations: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationSetError(f"{path.name}: migration files are named NNNN_lower_case_name.sql")
        migrations.append(Migration(int(match.group(1)), match.group(2), path.read_text(encoding="utf-8")))
    if not migrations:
        raise MigrationSetError(f"no migrations in {directory}")
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(migrations) + 1)):
        raise MigrationSetError(f"migration versions must run 1, 2, 3, ... without gaps or duplicates, found {versions}")
    return tuple(migrations)


def set_hash(migrations: Sequence[Migration]) -> str:
    """SHA-256 over each file's name and content hash, in order (constructs/database_migration.py
    computes the same from the files, as the custom resource property that triggers a re-run)."""
    digest = hashlib.sha256()
    for migration in migrations:
        digest.update(f"{migration.file_name}\0{migration.checksum}\n".encode())
    return digest.hexdigest()


@dataclass
class Result:
    applied: list[str] = field(default_factory=list)
    skipped: int = 0
    unknown_versions: list[int] = field(default_factory=list)


async def apply(connection: asyncpg.Connection, migrations: Sequence[Migration], *, lock_timeout: str = "10s") -> Result:
    """Apply what is pending, each migration in one transaction with its ledger row."""
    if not re.fullmatch(r"\d+(ms|s)", lock_timeout):
        raise ValueError(f"lock_timeout must look like 10s or 500ms, got {lock_timeout!r}")
    await connection.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
    try:
        async with connection.transaction():
            await connection.execute(_LEDGER_DDL)
        rows = await connection.fetch(f"SELECT version, name, checksum FROM {LEDGER_TABLE}")  # noqa: S608 - constant identifiers
        applied = {int(r["version"]): r for r in rows}
        for migration in migrations:
            row = applied.get(migration.version)
            if row is not None and row["checksum"] != migration.checksum:
                raise MigrationSetError(
                    f"{migration.file_name} was changed after it was applied (database has {row['name']} with checksum "
                    f"{row['checksum'][:12]}, file has {migration.checksum[:12]}); add a new migration instead"
                )
        result = Result(unknown_versions=sorted(set(applied) - {m.version for m in migrations}))
        if result.unknown_versions:
            log.warning("database has migrations this image does not know; left as they are", extra={"versions": result.unknown_versions})
        for migration in migrations:
            if migration.version in applied:
                result.skipped += 1
                continue
            async with connection.transaction():
                await connection.execute(f"SET LOCAL lock_timeout = '{lock_timeout}'")
                await connection.execute(migration.sql)
                await connection.execute(
                    f"INSERT INTO {LEDGER_TABLE} (version, name, checksum) VALUES ($1, $2, $3)",  # noqa: S608 - constant identifiers
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            log.info("migration applied", extra={"migration": migration.file_name})
            result.applied.append(migration.file_name)
        return result
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)


# --- the master secret and the login --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MasterCredentials:
    endpoint: DatabaseEndpoint
    password: str

    @classmethod
    def from_secret_string(cls, raw: str, dbname: str) -> MasterCredentials:
        try:
            data = json.loads(raw)
        except ValueError:
            raise ConfigurationError("the master secret is not JSON") from None
        if not isinstance(data, dict):
            raise ConfigurationError("the master secret is not a JSON object")
        missing = [k for k in ("host", "port", "username", "password") if not data.get(k)]
        if missing:
            raise ConfigurationError(f"the master secret lacks {', '.join(missing)}")
        return cls(
            endpoint=DatabaseEndpoint(host=str(data["host"]), port=int(data["port"]), dbname=dbname, user=str(data["username"])),
            password=str(data["password"]),
        )


@dataclass(frozen=True, kw_only=True)
class MigrateSettings:
    secret_arn: str
    ca_file: str
    region: str
    dbname: str
    expected_hash: str | None
    # Aurora Serverless v2 resumes from auto-pause (sandbox) on the first connection attempt, which
    # takes about 15 seconds: the first login waits for it.
    connect_timeout_seconds: float = 30.0
    auth_retry_seconds: float = 180.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MigrateSettings:
        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigurationError(f"environment variable {name} is required")
            return value

        expected = env.get("EXPECTED_MIGRATIONS_HASH", "").strip() or None
        if expected is not None and not re.fullmatch(r"[0-9a-f]{64}", expected):
            raise ConfigurationError("EXPECTED_MIGRATIONS_HASH must be a SHA-256 hex digest")
        retry = env.get("DB_AUTH_RETRY_SECONDS", "180")
        try:
            retry_seconds = float(retry)
        except ValueError:
            raise ConfigurationError(f"DB_AUTH_RETRY_SECONDS must be a number of seconds, got {retry!r}") from None
        return cls(
            secret_arn=required("DB_SECRET_ARN"),
            ca_file=required("DB_CA_FILE"),
            region=required("DB_REGION"),
            dbname=env.get("DB_NAME", "").strip() or DEFAULT_DATABASE,
            expected_hash=expected,
            auth_retry_seconds=retry_seconds,
        )


def _read_secret(client: Any, arn: str, stage: str) -> str | None:
    try:
        value: str = client.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"]
    except ClientError as error:
        if stage == "AWSPENDING" and error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None  # no rotation under way
        raise
    return value


async def connect_as_master(
    client: Any,
    settings: MigrateSettings,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    retry_interval: float = 10.0,
) -> asyncpg.Connection:
    context = tls_context(settings.ca_file)
    deadline = clock() + settings.auth_retry_seconds
    while True:
        refused: Exception | None = None
        for stage in ("AWSCURRENT", "AWSPENDING"):
            raw = _read_secret(client, settings.secret_arn, stage)
            if raw is None:
                continue
            credentials = MasterCredentials.from_secret_string(raw, settings.dbname)
            try:
                return await connect(credentials.endpoint, credentials.password, context, settings.connect_timeout_seconds)
            except asyncpg.InvalidPasswordError as error:
                refused = error
                log.warning("master login refused; the secret may be rotating", extra={"version_stage": stage})
        if clock() >= deadline:
            raise ConnectionRefusedError(f"master login refused with every secret version until the deadline: {refused}")
        await sleep(retry_interval)


async def run(settings: MigrateSettings, secrets_client: Any, migrations: Sequence[Migration]) -> Result:
    connection = await connect_as_master(secrets_client, settings)
    try:
        return await apply(connection, migrations)
    finally:
        await connection.close()


def main(env: Mapping[str, str] | None = None, secrets_client: Any = None) -> int:
    env = os.environ if env is None else env
    jsonlog.configure(env.get("LOG_LEVEL", "INFO"))
    try:
        settings = MigrateSettings.from_env(env)
    except ConfigurationError as error:
        log.critical("invalid configuration, nothing migrated", extra={"error": str(error)})
        return EXIT_BAD_CONFIGURATION
    try:
        migrations = load()
        actual = set_hash(migrations)
        if settings.expected_hash is not None and settings.expected_hash != actual:
            raise MigrationSetError(f"this image's migration set is {actual[:12]}, the deployment expects {settings.expected_hash[:12]}")
    except MigrationSetError as error:
        log.critical("migration set refused, nothing migrated", extra={"error": str(error)})
        return EXIT_BAD_MIGRATION_SET
    client = secrets_client or boto3.client("secretsmanager", region_name=settings.region)
    try:
        result = asyncio.run(run(settings, client, migrations))
    except MigrationSetError as error:
        log.critical("migration set refused", extra={"error": str(error)})
        return EXIT_BAD_MIGRATION_SET
    except ConfigurationError as error:
        log.critical("master secret unusable, nothing migrated", extra={"error": str(error)})
        return EXIT_BAD_CONFIGURATION
    except (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.InvalidAuthorizationSpecificationError, ClientError, BotoCoreError) as error:
        log.critical("could not reach the database as the master user", extra={"error": type(error).__name__, "detail": str(error)[:300]})
        return EXIT_CANNOT_CONNECT
    except asyncpg.PostgresError as error:
        log.critical("migration failed and was rolled back", extra={"error": type(error).__name__, "detail": str(error)[:300]})
        return EXIT_MIGRATION_FAILED
    log.info("migrations done", extra={"applied": result.applied, "skipped": result.skipped, "hash": actual})
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
