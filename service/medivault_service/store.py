"""PostgreSQL access of the records service: a pool of IAM-authenticated, verified-TLS sessions as
the service role, the queries, and the audit rows (written in the same transaction as the read or
write they describe, so no answer leaves without its audit row).

Every query runs inside an X-Ray ``postgresql`` subsegment (namespace ``remote``); the SQL text is
not recorded (it is constant) and bound values never are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aws_xray_sdk.core import AsyncAWSXRayRecorder

from medivault_service.auth import Principal
from medivault_service.database import DatabaseEndpoint, TokenSource

log = logging.getLogger("medivault.store")

RECORD_COLUMNS = (
    "id, patient, created_by, kind, title, content_type, size_bytes, sha256, bucket, object_key, upload_id, status, "
    "version_id, lock_mode, lock_until, created_at, confirmed_at"
)


@dataclass(frozen=True)
class AuditContext:
    source_ip: str | None
    request_id: str
    trace_id: str | None


async def _check_encrypted(connection: asyncpg.Connection) -> None:
    if await connection.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is not True:
        raise ConnectionError("the database session is not encrypted")


async def create_pool(endpoint: DatabaseEndpoint, token: TokenSource, context: Any, *, size: int, timeout: float) -> asyncpg.Pool:
    """Connections open lazily (min_size 0): a database that is down fails readiness, not start-up."""

    def password() -> str:
        return str(token.get())

    pool: asyncpg.Pool = await asyncpg.create_pool(
        host=endpoint.host,
        port=endpoint.port,
        user=endpoint.user,
        database=endpoint.dbname,
        password=password,
        ssl=context,
        timeout=timeout,
        command_timeout=10,
        min_size=0,
        max_size=size,
        max_inactive_connection_lifetime=300,
        init=_check_encrypted,
        # Statement cache keyed by SQL text is fine (constant SQL); no server-side prepared-statement
        # surprises behind RDS Proxy because the service connects to the writer directly.
    )
    return pool


class Store:
    """``pool_factory`` runs on first use (a missing CA bundle or a database that is down fails the
    request and readiness, not the process start)."""

    def __init__(self, pool_factory: Callable[[], Awaitable[asyncpg.Pool]], token: TokenSource, recorder: AsyncAWSXRayRecorder) -> None:
        self._factory = pool_factory
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self.token = token
        self.recorder = recorder

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    self._pool = await self._factory()
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.recorder.in_subsegment_async("postgresql") as sub:
            if sub is not None:
                sub.namespace = "remote"
                sub.put_metadata("database_user", "medivault_service")
            try:
                pool = await self.pool()
                async with pool.acquire() as connection, connection.transaction():
                    yield connection
            except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
                self.token.invalidate()  # expired or refused token: sign a new one for the next connection
                raise

    # --- profiles ---------------------------------------------------------------------------

    async def profile(self, subject: str) -> dict[str, Any] | None:
        async with self.transaction() as db:
            row = await db.fetchrow("SELECT subject, kind, display_name, updated_at FROM phi.profiles WHERE subject = $1", uuid.UUID(subject))
        return _profile(row) if row else None

    async def update_profile(self, principal: Principal, display_name: str, audit: AuditContext) -> dict[str, Any] | None:
        async with self.transaction() as db:
            row = await db.fetchrow(
                "UPDATE phi.profiles SET display_name = $2, updated_at = now() WHERE subject = $1 RETURNING subject, kind, display_name, updated_at",
                uuid.UUID(principal.subject),
                display_name,
            )
            if row is None:
                return None
            await self._audit(db, principal, action="profile.update", record_id=None, patient=principal.subject, audit=audit)
        return _profile(row)

    # --- access -----------------------------------------------------------------------------

    @staticmethod
    async def _may_see_patient(db: asyncpg.Connection, principal: Principal, patient: str) -> bool:
        if principal.group == "patient":
            return bool(principal.subject == patient)
        found = await db.fetchval(
            "SELECT true FROM phi.care_relationships WHERE clinician = $1 AND patient = $2", uuid.UUID(principal.subject), uuid.UUID(patient)
        )
        allowed: bool = found is True
        return allowed

    # --- records ----------------------------------------------------------------------------

    async def create_record(self, principal: Principal, record: dict[str, Any], audit: AuditContext) -> dict[str, Any] | None:
        """None if the caller may not add records for this patient (nothing is written then)."""
        async with self.transaction() as db:
            if not await self._may_see_patient(db, principal, record["patient"]):
                return None
            row = await db.fetchrow(
                f"INSERT INTO phi.records (id, patient, created_by, kind, title, content_type, size_bytes, sha256, bucket, object_key, upload_id) "  # noqa: S608 - constant columns
                f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {RECORD_COLUMNS}",
                record["id"],
                uuid.UUID(record["patient"]),
                uuid.UUID(principal.subject),
                record["kind"],
                record["title"],
                record["content_type"],
                record["size_bytes"],
                record["sha256"],
                record["bucket"],
                record["object_key"],
                record["upload_id"],
            )
            await self._audit(db, principal, action="record.create", record_id=record["id"], patient=record["patient"], audit=audit)
        return dict(row)

    async def visible_record(self, db: asyncpg.Connection, principal: Principal, record_id: uuid.UUID) -> asyncpg.Record | None:
        if principal.group == "patient":
            sql = f"SELECT {RECORD_COLUMNS} FROM phi.records WHERE id = $1 AND patient = $2"  # noqa: S608 - constant columns
        else:
            sql = (
                f"SELECT {RECORD_COLUMNS} FROM phi.records r WHERE id = $1 AND EXISTS "  # noqa: S608 - constant columns
                "(SELECT 1 FROM phi.care_relationships c WHERE c.clinician = $2 AND c.patient = r.patient)"
            )
        row: asyncpg.Record | None = await db.fetchrow(sql, record_id, uuid.UUID(principal.subject))
        return row

    async def read_record(self, principal: Principal, record_id: uuid.UUID, action: str, audit: AuditContext) -> dict[str, Any] | None:
        async with self.transaction() as db:
            row = await self.visible_record(db, principal, record_id)
            if row is None:
                return None
            if action == "record.download_url" and row["status"] != "available":
                action = "record.read"
            await self._audit(db, principal, action=action, record_id=record_id, patient=str(row["patient"]), audit=audit)
        return dict(row)

    async def record_audit(self, principal: Principal, record_id: uuid.UUID, audit: AuditContext) -> list[dict[str, Any]] | None:
        """Who did what with a visible record (accounting of disclosures); reading it is itself audited."""
        async with self.transaction() as db:
            row = await self.visible_record(db, principal, record_id)
            if row is None:
                return None
            events = await db.fetch(
                "SELECT at, actor, actor_group, action, source_ip, request_id FROM phi.audit_events WHERE record_id = $1 ORDER BY id LIMIT 1000",
                record_id,
            )
            await self._audit(db, principal, action="record.audit_read", record_id=record_id, patient=str(row["patient"]), audit=audit)
        return [dict(e) for e in events]

    async def confirm_record(self, principal: Principal, record_id: uuid.UUID, found: dict[str, Any], audit: AuditContext) -> dict[str, Any] | None:
        async with self.transaction() as db:
            row = await db.fetchrow(
                "UPDATE phi.records SET status = 'available', version_id = $2, lock_mode = $3, lock_until = $4, "  # noqa: S608 - constant columns
                "confirmed_at = now(), upload_id = NULL "
                f"WHERE id = $1 AND status = 'pending' RETURNING {RECORD_COLUMNS}",
                record_id,
                found["version_id"],
                found["lock_mode"],
                found["lock_until"],
            )
            if row is None:
                return None
            await self._audit(db, principal, action="record.confirm", record_id=record_id, patient=str(row["patient"]), audit=audit)
        return dict(row)

    async def list_records(self, principal: Principal, patient: str, limit: int, audit: AuditContext) -> list[dict[str, Any]] | None:
        async with self.transaction() as db:
            if not await self._may_see_patient(db, principal, patient):
                return None
            rows = await db.fetch(
                f"SELECT {RECORD_COLUMNS} FROM phi.records WHERE patient = $1 ORDER BY created_at DESC, id LIMIT $2",  # noqa: S608
                uuid.UUID(patient),
                limit,
            )
            await self._audit(db, principal, action="records.list", record_id=None, patient=patient, audit=audit)
        return [dict(r) for r in rows]

    @staticmethod
    async def _audit(
        db: asyncpg.Connection, principal: Principal, *, action: str, record_id: uuid.UUID | None, patient: str | None, audit: AuditContext
    ) -> None:
        await db.execute(
            "INSERT INTO phi.audit_events (actor, actor_group, action, record_id, patient, source_ip, request_id, trace_id) "
            "VALUES ($1, $2, $3, $4, $5, $6::inet, $7, $8)",
            uuid.UUID(principal.subject),
            principal.group,
            action,
            record_id,
            uuid.UUID(patient) if patient else None,
            audit.source_ip,
            audit.request_id,
            audit.trace_id,
        )


def _profile(row: asyncpg.Record) -> dict[str, Any]:
    return {"subject": str(row["subject"]), "kind": row["kind"], "display_name": row["display_name"], "updated_at": row["updated_at"].isoformat()}
