"""The log store: one AsyncMongoClient per process, collection `logs`, a deadline on each call."""

import asyncio
import contextlib
import contextvars
import enum
import logging
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pymongo
from bson import ObjectId
from opentelemetry import trace
from opentelemetry.trace import Span, SpanContext
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel, WriteConcern
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WriteConcernError,
)
from pymongo.monitoring import CommandStartedEvent
from svckit.batching import GroupCommit
from svckit.metrics import service

from logger_service.metrics import STORE_BATCH, STORE_WRITE

log = logging.getLogger(__name__)

COLLECTION = "logs"
# Only what idempotency and `GET /logs` use: each index costs every insert (bench_store; the
# figures and the choice: README "Indexes", docs/decisions.md).
INDEXES = [
    # Makes `event_id` writes idempotent; entries without one are not indexed at all.
    IndexModel(
        [("event_id", ASCENDING)],
        name="event_id_unique",
        unique=True,
        partialFilterExpression={"event_id": {"$exists": True}},
    ),
    # `/logs?name=`: the entries of one name, not a scan of them all.
    IndexModel([("name", ASCENDING), ("created_at", DESCENDING)], name="name_created_at"),
]
# Indexes earlier versions made that no query uses (`/logs` sorts on `_id` too, so a
# `created_at` index alone never gives its order): dropped where found, since each insert
# pays for them.
RETIRED_INDEXES = ("created_at",)
# MongoDB's code for dropping an index that is not there.
INDEX_NOT_FOUND = 27


# What every door tells its caller, followed by the kind of failure; the driver's own text
# (with the servers it tried) goes to the log.
UNAVAILABLE = "the log store (MongoDB) is unavailable"
CALLER_GRACE = 1.0
# MongoDB's code for a write that breaks a unique index.
DUPLICATE_KEY = 11000
# Entries fetched per cursor batch by `recent`: what a read holds beyond the answer it builds
# is at most this many of the largest entries.
READ_BATCH = 32


class StoreUnavailable(Exception):
    """MongoDB did not answer within the deadline or refused the call; each door answers
    `UNAVAILABLE: <this text>`.

    Its text is fit for any caller: the kind of failure, never the driver's own text, which
    names the servers it tried (that goes to the log).
    """


class Written(enum.Enum):
    STORED = "stored"
    # The `event_id` was stored before (by another call, or earlier in the same batch).
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class _Write:
    doc: dict[str, Any]
    # The caller's span, which the batch's command links to when another caller's trace owns it.
    span: SpanContext
    deadline: float


# The other callers of the batch whose command is being sent (read by `link_batch`).
_BATCH_SPANS: contextvars.ContextVar[Sequence[SpanContext]] = contextvars.ContextVar(
    "logger_batch_spans", default=()
)


def link_batch(span: Span, _: CommandStartedEvent) -> None:
    """PymongoInstrumentor's request hook: a batch's command span (a child of its first
    caller's span) links to every other caller's span, so each trace finds its write."""
    for caller in _BATCH_SPANS.get():
        span.add_link(caller, {"logger.batch.member": True})


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
        batch_max: int = 128,
        writes_in_flight: int = 1,
        journal: bool = True,
    ) -> None:
        self.timeout = timeout
        # A caller's own wait outlasts its write's deadline a little, so the store's answer
        # (which says what went wrong) normally comes first; it is the backstop.
        self._patience = timeout + CALLER_GRACE
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
        # j=true: MongoDB acknowledges once the entry is in its journal, so a 202 (and the
        # listener's ack to RabbitMQ after it) never comes before the entry would survive a crash.
        self._logs: AsyncCollection[dict[str, Any]] = self._client[database].get_collection(
            COLLECTION, write_concern=WriteConcern(j=True) if journal else WriteConcern()
        )
        self._indexed = False
        self._indexing: asyncio.Future[None] | None = None
        # Writes from every door that arrive while one is in flight go together in the next.
        self._group: GroupCommit[_Write, Written] = GroupCommit(
            self._insert, batch_max, writes_in_flight
        )

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
            for name in RETIRED_INDEXES:
                try:
                    await self._logs.drop_index(name)
                except OperationFailure as exc:
                    if exc.code != INDEX_NOT_FOUND:
                        raise
        except PyMongoError as exc:
            raise _unavailable(exc, self.timeout) from exc
        self._indexed = True
        log.info("indexes on %s are in place", self._logs.full_name)

    async def write(self, name: str, data: str, event_id: str | None = None) -> Written:
        """Store one entry; when `event_id` was stored before, nothing more is stored."""
        # Idempotency rests on the unique index, so no write goes ahead of it.
        await self.prepare()
        try:
            return await self._group.submit(self._write(name, data, event_id), self._patience)
        except TimeoutError:
            raise StoreUnavailable(f"no answer within {self.timeout:g} s") from None

    async def write_many(
        self, entries: Iterable[tuple[str, str, str | None]]
    ) -> list[Written | StoreUnavailable]:
        """Each `(name, data, event_id)`'s outcome, in order; they go to the store together."""
        await self.prepare()
        writes = [self._write(*entry) for entry in entries]
        outcomes = await self._group.submit_many(writes, self._patience)
        return [_outcome(o, self.timeout) for o in outcomes]

    def _write(self, name: str, data: str, event_id: str | None) -> _Write:
        now = datetime.now(UTC)
        doc: dict[str, Any] = {"name": name, "data": data, "created_at": now, "updated_at": now}
        if event_id is not None:
            doc["event_id"] = event_id
        span = trace.get_current_span().get_span_context()
        return _Write(doc, span, asyncio.get_running_loop().time() + self.timeout)

    async def _insert(self, writes: list[_Write]) -> list[Written | BaseException]:
        """One command for the batch; a duplicate `event_id` or a refused document is its own
        caller's outcome, a failed command (connection, timeout) every caller's."""
        STORE_BATCH.labels(service()).observe(len(writes))
        docs = [w.doc for w in writes]
        first = trace.get_current_span().get_span_context()
        _BATCH_SPANS.set([w.span for w in writes if w.span.is_valid and w.span != first])
        outcomes: list[Written | BaseException] = [Written.STORED] * len(writes)
        try:
            with STORE_WRITE.labels(service()).time(), self._deadline(writes):
                if len(docs) == 1:
                    await self._logs.insert_one(docs[0])
                else:
                    await self._logs.insert_many(docs, ordered=False)
        except DuplicateKeyError:
            outcomes[0] = Written.DUPLICATE
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                outcomes[error["index"]] = self._refused(error)
            if exc.details.get("writeConcernErrors"):
                # Stored, but not as durably as asked: what insert_one's caller would hear.
                failed = _unavailable(WriteConcernError("write concern error"), self.timeout)
                outcomes = [failed if o is Written.STORED else o for o in outcomes]
        except PyMongoError as exc:
            raise _unavailable(exc, self.timeout) from exc
        for write, outcome in zip(writes, outcomes, strict=True):
            if outcome is Written.DUPLICATE:
                log.info(
                    "event %s was logged before; nothing more stored", write.doc.get("event_id")
                )
        return outcomes

    def _deadline(self, writes: list[_Write]) -> contextlib.AbstractContextManager[object]:
        """The store's deadline for a batch whose callers waited: what is left of theirs (a
        batch that went at once keeps the client's own, `timeout`)."""
        left = max(w.deadline for w in writes) - asyncio.get_running_loop().time()
        if left >= self.timeout - 0.05:
            return contextlib.nullcontext()
        return pymongo.timeout(max(left, 0.01))

    def _refused(self, error: dict[str, Any]) -> Written | StoreUnavailable:
        if error.get("code") == DUPLICATE_KEY:
            return Written.DUPLICATE
        return _unavailable(
            OperationFailure(str(error.get("errmsg", "")), error.get("code")), self.timeout
        )

    @property
    def write_concern(self) -> WriteConcern:
        return self._logs.write_concern

    async def recent(self, name: str | None, limit: int) -> AsyncGenerator[LogEntry]:
        """The newest entries first, at most `limit`, only those called `name` when given;
        streamed from the cursor a batch at a time, so a caller that stops early (close it:
        `contextlib.aclosing`) has not read the rest."""
        query: dict[str, Any] = {} if name is None else {"name": name}
        cursor = (
            self._logs.find(query)
            .sort([("created_at", -1), ("_id", -1)])
            .limit(limit)
            .batch_size(min(limit, READ_BATCH))
        )
        try:
            async for doc in cursor:
                yield _entry(doc)
        except PyMongoError as exc:
            raise _unavailable(exc, self.timeout) from exc
        finally:
            await cursor.close()

    async def ping(self) -> None:
        try:
            await self._client.admin.command("ping")
        except PyMongoError as exc:
            raise _unavailable(exc, self.timeout) from exc

    async def close(self) -> None:
        await self._client.close()


def _outcome(outcome: Written | BaseException, timeout: float) -> Written | StoreUnavailable:
    if isinstance(outcome, Written | StoreUnavailable):
        return outcome
    if isinstance(outcome, TimeoutError):
        return StoreUnavailable(f"no answer within {timeout:g} s")
    raise outcome


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
