"""The `users` table on PostgreSQL: made with its seed user at start-up, read through one pool."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from svckit.dsn import Target
from svckit.errors import ServiceError

T = TypeVar("T")

log = logging.getLogger(__name__)

# The seed README's users.sql, with the contract's constraints (email unique and required).
SCHEMA = """
CREATE TABLE IF NOT EXISTS public.users (
    id serial PRIMARY KEY,
    email character varying(255) NOT NULL UNIQUE,
    first_name character varying(255) NOT NULL,
    last_name character varying(255) NOT NULL,
    password character varying(60),
    user_active integer DEFAULT 0,
    created_at timestamp without time zone,
    updated_at timestamp without time zone
)
"""
# Not ON CONFLICT: a table made by the original's users.sql has no unique index on email;
# the advisory lock taken first keeps two replicas from both inserting.
SEED = """
INSERT INTO public.users
    (email, first_name, last_name, password, user_active, created_at, updated_at)
SELECT $1::varchar, 'Admin', 'User', $2, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
WHERE NOT EXISTS (SELECT 1 FROM public.users WHERE email = $1::varchar)
"""
SEED_EMAIL = "admin@example.com"
# The original's users.sql row, made by Go's bcrypt at cost 12: `verysecret`.
SEED_HASH = "$2a$12$1zGLuYDDNvATh4RA4avbKuheAMpb1svexSzrQm7up.bnpwQHs0jNe"
# Any fixed number; every replica serialises its schema work on it.
_SCHEMA_LOCK = 0x61757468
# Seconds one start-up attempt may take (connects, database creation, schema, seed).
_OPEN_DEADLINE = 30.0

FIND_BY_EMAIL = """
SELECT id, email, first_name, last_name, password, user_active, created_at, updated_at
FROM public.users WHERE email = $1
"""

# A dropped or refused connection: worth one more try on a newly opened connection.
_CONNECTION_ERRORS = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    # A connection whose server said "terminating connection" while it sat idle, before the
    # socket's end reached us: asyncpg refuses to use it ("another operation is in progress").
    asyncpg.InternalClientError,
    OSError,
)


class DatabaseUnavailable(ServiceError):
    """PostgreSQL is not there (yet) or did not answer in time: 503, the client may retry.

    `reason` is for the caller; `detail` (the driver's exception) for the log only.
    """

    def __init__(self, reason: str = "", *, detail: str = "") -> None:
        message = "database is unavailable" + (f": {reason}" if reason else "")
        super().__init__(503, message, detail=detail)


def rfc3339(moment: datetime | None) -> str | None:
    """As Go's `time.Time` marshals a UTC time: `2022-03-14T00:05:31.5Z`, no trailing zeros."""
    if moment is None:
        return None
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    fraction = f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


@dataclass(frozen=True)
class User:
    id: int
    email: str
    first_name: str
    last_name: str
    password: str | None
    active: int
    created_at: datetime | None
    updated_at: datetime | None

    def public(self) -> dict[str, Any]:
        """The user as the original's JSON showed it; the hash never leaves the service."""
        return {
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "active": self.active,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        }


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class UserStore:
    """One asyncpg pool per process; every call has a deadline and answers 503 when it fails."""

    def __init__(self, target: Target, *, timeout: float, pool_size: int) -> None:
        self.target = target
        self.timeout = timeout
        self.pool_size = pool_size
        self.pool: asyncpg.Pool | None = None
        self._abandoned: set[asyncio.Task[Any]] = set()

    @property
    def _connect_timeout(self) -> float:
        return self.target.connect_timeout or self.timeout

    async def open(self) -> None:
        """One attempt: create the database when missing, open the pool, apply schema and seed.

        Bounded in time, so a server that hangs half-way makes the caller try again.
        """
        async with asyncio.timeout(_OPEN_DEADLINE):
            try:
                pool = await self._create_pool()
            except asyncpg.InvalidCatalogNameError:
                await self._create_database()
                pool = await self._create_pool()
            try:
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
                    await conn.execute(SCHEMA)
                    await conn.execute(SEED, SEED_EMAIL, SEED_HASH)
            except BaseException:
                pool.terminate()
                raise
        self.pool = pool
        log.info("connected to database %s; schema and seed user in place", self.target.database)

    async def _create_pool(self) -> asyncpg.Pool:
        return await asyncpg.create_pool(
            self.target.uri,
            database=self.target.database,
            timeout=self._connect_timeout,
            min_size=1,
            max_size=self.pool_size,
            max_inactive_connection_lifetime=300,
        )

    async def _create_database(self) -> None:
        # CREATE DATABASE cannot run inside the database it creates: use the maintenance one.
        admin = await asyncpg.connect(
            self.target.uri, database="postgres", timeout=self._connect_timeout
        )
        try:
            await admin.execute(f"CREATE DATABASE {_quote_ident(self.target.database)}")
            log.info("created database %s", self.target.database)
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            log.info("database %s was created by another replica", self.target.database)
        finally:
            await admin.close()

    def _pool(self) -> asyncpg.Pool:
        if self.pool is None:
            raise DatabaseUnavailable("not connected yet")
        return self.pool

    async def ping(self) -> None:
        """`SELECT 1` through the pool (readiness); raises when PostgreSQL does not answer."""
        pool = self._pool()
        await self._by_deadline(self._select_one(pool))

    async def find_by_email(self, email: str) -> User | None:
        pool = self._pool()
        try:
            row = await self._by_deadline(self._lookup(pool, email))
        except _CONNECTION_ERRORS as exc:
            log.warning("user lookup failed: %r", exc)
            raise DatabaseUnavailable(detail=repr(exc)) from None
        if row is None:
            return None
        return User(
            id=row["id"],
            email=row["email"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            password=row["password"],
            active=row["user_active"] or 0,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    async def _select_one(self, pool: asyncpg.Pool) -> None:
        await self._read(pool, lambda conn: conn.fetchval("SELECT 1"))

    async def _lookup(self, pool: asyncpg.Pool, email: str) -> asyncpg.Record | None:
        return await self._read(pool, lambda conn: conn.fetchrow(FIND_BY_EMAIL, email))

    async def _read(
        self, pool: asyncpg.Pool, query: Callable[[PoolConnectionProxy], Awaitable[T]]
    ) -> T:
        """`query` on a connection from the pool; on one the server has closed, once more on a
        newly opened one (a read, so trying it twice is harmless)."""
        try:
            async with pool.acquire(timeout=self.timeout) as conn:
                return await query(conn)
        except _CONNECTION_ERRORS as exc:
            # PostgreSQL restarted or ended our backends: it ended the idle ones too, and the
            # pool would notice each only when it hands it out. Replace them all at once.
            log.info("a connection was lost; reopening the pool's connections: %r", exc)
            await pool.expire_connections()
            async with pool.acquire(timeout=self.timeout) as conn:
                return await query(conn)

    async def _by_deadline(self, work: Coroutine[Any, Any, T]) -> T:
        """The result of `work` within the deadline, else 503 at the deadline.

        A timed-out asyncpg call waits for its cancellation to reach the server before it lets
        go (a hung server: up to the acquire timeout); that clean-up runs in the background.
        """
        task = asyncio.create_task(work)
        try:
            done, _ = await asyncio.wait({task}, timeout=self.timeout)
        except asyncio.CancelledError:
            self._abandon(task)
            raise
        if not done:
            self._abandon(task)
            raise DatabaseUnavailable(f"no answer within {self.timeout:g} s")
        return task.result()

    def _abandon(self, task: asyncio.Task[Any]) -> None:
        task.cancel()
        self._abandoned.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.info("an abandoned database call ended: %r", task.exception())

    async def close(self) -> None:
        if self.pool is not None:
            try:
                await asyncio.wait_for(self.pool.close(), self.timeout)
            except TimeoutError:
                self.pool.terminate()
            self.pool = None
