"""The log store: one AsyncMongoClient per process, collection `logs`, a deadline on each call."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)
from svckit.metrics import service

from logger_service.metrics import STORE_WRITE

log = logging.getLogger(__name__)

COLLECTION = "logs"
INDEXES = [
    # Makes `event_id` writes idempotent; entries without one are not indexed at all.
    IndexModel(
        [("event_id", ASCENDING)],
        name="event_id_unique",
        unique=True,
        partialFilterExpression={"event_id": {"$exists": True}},
    ),
    IndexModel([("name", ASCENDING), ("created_at", DESCENDING)], name="name_created_at"),
    IndexModel([("created_at", DESCENDING)], name="created_at"),
]


# What every door tells its caller, followed by the kind of failure; the driver's own text
# (with the servers it tried) goes to the log.
UNAVAILABLE = "the log store (MongoDB) is unavailable"


class StoreUnavailable(Exception):
    """MongoDB did not answer within the deadline or refused the call; each door answers
    `UNAVAILABLE: <this text>`.

    Its text is fit for any caller: the kind of failure, never the driver's own text, which
    names the servers it tried (that goes to the log).
    """


@dataclass(frozen=True)
class LogEntry:
    id: str
    name: str
    data: str
    created_at: datetime
    updated_at: datetime


def _brief(exc: PyMongoError) -> str:
    """The driver's message without its topology dump, for the log."""
    text = str(exc)
    for tail in (" (configured timeouts", ", Timeout:", ", full error:"):
        text = text.split(tail, 1)[0]
    return text.strip() or type(exc).__name__


def _unavailable(exc: PyMongoError, timeout: float) -> StoreUnavailable:
    log.warning("MongoDB: %s", _brief(exc))
    if isinstance(exc, ServerSelectionTimeoutError):
        return StoreUnavailable(f"no server reachable within {timeout:g} s")
    if exc.timeout:
        return StoreUnavailable(f"no answer within {timeout:g} s")
    if isinstance(exc, ConnectionFailure):
        return StoreUnavailable("the connection failed")
    if isinstance(exc, OperationFailure):
        return StoreUnavailable(f"the server refused the operation (code {exc.code})")
    return StoreUnavailable(type(exc).__name__)


class LogStore:
    def __init__(
        self,
        url: str,
        database: str,
        *,
        timeout: float = 2.0,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.timeout = timeout
        ms = max(1, int(timeout * 1000))
        credentials: dict[str, Any] = {}
        if username is not None:
            credentials = {"username": username, "password": password or ""}
        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url,
            tz_aware=True,
            tzinfo=UTC,
            timeoutMS=ms,
            serverSelectionTimeoutMS=ms,
            connectTimeoutMS=ms,
            appname="logger-service",
            **credentials,
        )
        self._logs: AsyncCollection[dict[str, Any]] = self._client[database][COLLECTION]
        self._indexed = False
        self._indexing: asyncio.Future[None] | None = None

    async def prepare(self) -> None:
        """Create the indexes (idempotent); raises StoreUnavailable while MongoDB is away."""
        if self._indexed:
            return
        # Callers arriving meanwhile share one attempt, so an outage costs each one deadline.
        if self._indexing is None or self._indexing.done():
            self._indexing = asyncio.ensure_future(self._create_indexes())
            self._indexing.add_done_callback(_consume_failure)
        await asyncio.shield(self._indexing)

    async def _create_indexes(self) -> None:
        try:
            await self._logs.create_indexes(INDEXES)
        except PyMongoError as exc:
            raise _unavailable(exc, self.timeout) from exc
        self._indexed = True
        log.info("indexes on %s are in place", self._logs.full_name)

    async def write(self, name: str, data: str, event_id: str | None = None) -> None:
        """Store one entry; when `event_id` was stored before, nothing more is stored."""
        # Idempotency rests on the unique index, so no write goes ahead of it.
        await self.prepare()
        now = datetime.now(UTC)
        doc: dict[str, Any] = {"name": name, "data": data, "created_at": now, "updated_at": now}
        if event_id is not None:
            doc["event_id"] = event_id
        try:
            with STORE_WRITE.labels(service()).time():
                await self._logs.insert_one(doc)
        except DuplicateKeyError:
            log.info("event %s was logged before; nothing more stored", event_id)
        except PyMongoError as exc:
            raise _unavailable(exc, self.timeout) from exc

    async def recent(self, name: str | None, limit: int) -> list[LogEntry]:
        """The newest entries first, at most `limit`, only those called `name` when given."""
        query: dict[str, Any] = {} if name is None else {"name": name}
        try:
            cursor = self._logs.find(query).sort([("created_at", -1), ("_id", -1)]).limit(limit)
            docs = await cursor.to_list()
        except PyMongoError as exc:
            raise _unavailable(exc, self.timeout) from exc
        return [_entry(doc) for doc in docs]

    async def ping(self) -> None:
        try:
            await self._client.admin.command("ping")
        except PyMongoError as exc:
            raise _unavailable(exc, self.timeout) from exc

    async def close(self) -> None:
        await self._client.close()


def _consume_failure(attempt: "asyncio.Future[None]") -> None:
    """Every waiter sees the failure; this keeps asyncio quiet when none is left to see it."""
    if not attempt.cancelled():
        attempt.exception()


def _entry(doc: dict[str, Any]) -> LogEntry:
    oid = doc["_id"]
    created = doc.get("created_at")
    if not isinstance(created, datetime) and isinstance(oid, ObjectId):
        # An entry without a date (written by other code) falls back to its id's time.
        created = oid.generation_time
    if not isinstance(created, datetime):
        created = datetime.min.replace(tzinfo=UTC)
    updated = doc.get("updated_at")
    return LogEntry(
        id=str(oid),
        name=str(doc.get("name", "")),
        data=str(doc.get("data", "")),
        created_at=created,
        updated_at=updated if isinstance(updated, datetime) else created,
    )
