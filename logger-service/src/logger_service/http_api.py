"""The HTTP door: `POST /log`, `POST /logs` (a batch) and `GET /logs`; routes only, storage
lives in `store`."""

import contextlib
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

import orjson
from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, StatusCode
from pydantic import BaseModel, Field, ValidationError
from svckit.contract import Entry, EventId
from svckit.envelope import Envelope, reply
from svckit.errors import ServiceError, describe_validation_errors

from logger_service import writes
from logger_service.deps import PartsDep, parts_of
from logger_service.store import LogEntry, StoreUnavailable, Written
from logger_service.writes import StoreOutage

router = APIRouter(tags=["logs"])


class LogIn(Entry):
    # `POST /log`: an entry, and the key that makes its write idempotent.
    event_id: EventId = None


class BatchEntry(LogIn):
    traceparent: str | None = Field(
        default=None,
        max_length=100,
        description="W3C trace context of this entry's own trace (a queued event's, say): "
        "the logger records the entry's outcome as a span in that trace",
    )


Outcome = Literal["stored", "duplicate", "refused", "unavailable"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)


class EntryOutcome(BaseModel):
    outcome: Outcome
    status: int = Field(description="what `POST /log` would have answered for this entry alone")
    message: str


# Most entries in one `POST /logs`.
BATCH_MAX = 1000
# Room in a `GET /logs` answer's budget for the envelope around its entries.
ENVELOPE_ROOM = 512
TRUNCATED_HEADER = "X-Logs-Truncated"
TRACER = trace.get_tracer(__name__)


class LogItem(BaseModel):
    id: str
    name: str
    data: str
    created_at: str = Field(description="RFC 3339, UTC")
    updated_at: str = Field(description="RFC 3339, UTC")


ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": Envelope, "description": "malformed JSON or a field of the wrong type"},
    503: {"model": Envelope, "description": "the log store (MongoDB) does not answer"},
}


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _item(entry: LogEntry) -> dict[str, str]:
    return {
        "id": entry.id,
        "name": entry.name,
        "data": entry.data,
        "created_at": _rfc3339(entry.created_at),
        "updated_at": _rfc3339(entry.updated_at),
    }


@router.post(
    "/log",
    status_code=202,
    response_model=Envelope,
    responses={**ERRORS, 413: {"model": Envelope, "description": "body over 1 MiB"}},
)
async def write_log(entry: LogIn, request: Request) -> JSONResponse:
    """Store one entry; answers 202 `logged` (also for a repeated `event_id`)."""
    # The store straight from the app, not by `Depends`: a lean route (`svckit.lean_routes`).
    await writes.write(parts_of(request).store, "http", entry.name, entry.data, entry.event_id)
    return reply(202, "logged")


def _parse(raw: Any) -> BatchEntry | EntryOutcome:
    if not isinstance(raw, dict):
        return EntryOutcome(
            outcome="refused", status=400, message="the entry must be a JSON object"
        )
    try:
        return BatchEntry.model_validate(raw)
    except ValidationError as exc:
        message = describe_validation_errors(exc.errors())
        return EntryOutcome(outcome="refused", status=400, message=message)


def _stored(written: Written | StoreOutage) -> EntryOutcome:
    if written is Written.STORED:
        return EntryOutcome(outcome="stored", status=202, message="logged")
    if written is Written.DUPLICATE:
        return EntryOutcome(outcome="duplicate", status=202, message="logged before")
    assert isinstance(written, StoreOutage)
    return EntryOutcome(outcome="unavailable", status=written.status, message=written.message)


def _trace_entries(raw: list[Any], outcomes: list[EntryOutcome]) -> None:
    """A span per entry that names its own trace (refused ones too), linked to this
    request's: a batch of queued events stays one trace per event."""
    batch = Link(trace.get_current_span().get_span_context())
    start = time.time_ns()
    for item, outcome in zip(raw, outcomes, strict=True):
        traceparent = item.get("traceparent") if isinstance(item, dict) else None
        if not isinstance(traceparent, str):
            continue
        name = item.get("name")
        span = TRACER.start_span(
            "log entry",
            context=propagate.extract({"traceparent": traceparent}),
            links=[batch],
            start_time=start,
            attributes={
                "logger.outcome": outcome.outcome,
                "logger.entry.name": name if isinstance(name, str) else "",
            },
        )
        if outcome.status >= 400:
            span.set_status(StatusCode.ERROR, outcome.message)
        span.end()


@router.post(
    "/logs",
    response_model=Envelope[list[EntryOutcome]],
    responses={
        400: {"model": Envelope, "description": f"not a JSON array, or over {BATCH_MAX} entries"},
        413: {"model": Envelope, "description": "body over 1 MiB"},
        503: {"model": Envelope, "description": "nothing stored: the log store does not answer"},
    },
)
async def write_logs(
    raw: Annotated[list[Any], Body(max_length=BATCH_MAX)], request: Request
) -> JSONResponse:
    """Store a batch of entries, each as `POST /log` would; answers 200 with each entry's
    outcome in order (stored, duplicate, refused or unavailable), or 503 when the store
    took none of them."""
    # The listener's route: the parts straight from the app, so it is a lean route too.
    store = parts_of(request).store
    entries = [_parse(item) for item in raw]
    valid = [e for e in entries if isinstance(e, BatchEntry)]
    results = iter(
        await writes.write_many(store, "http", ((e.name, e.data, e.event_id) for e in valid))
        if valid
        else []
    )
    outcomes = [e if isinstance(e, EntryOutcome) else _stored(next(results)) for e in entries]
    _trace_entries(raw, outcomes)
    if valid and not any(o.status == 202 for o in outcomes):
        failed = next(o for o in outcomes if o.outcome == "unavailable")
        raise ServiceError(503, failed.message)
    counts = [f"{n} {kind}" for kind in OUTCOMES if (n := sum(o.outcome == kind for o in outcomes))]
    message = ": ".join([f"{len(outcomes)} entries", ", ".join(counts)][: 1 + bool(counts)])
    return reply(200, message, [o.model_dump() for o in outcomes])


@router.get(
    "/logs",
    response_model=Envelope[list[LogItem]],
    responses={
        **ERRORS,
        200: {
            "description": "the newest entries first; when the next entry would take the "
            "answer past LOGS_ANSWER_MAX bytes, it stops there: the message says so and "
            f"`{TRUNCATED_HEADER}: true` is set",
            "headers": {
                TRUNCATED_HEADER: {
                    "description": "`true` when more entries matched than the answer holds",
                    "schema": {"type": "string", "enum": ["true"]},
                }
            },
        },
    },
)
async def recent_logs(
    parts: PartsDep,
    name: Annotated[str | None, Query(description="only entries with this name")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="at most this many")] = 50,
) -> JSONResponse:
    """The newest entries first, as many as fit in the answer's byte budget."""
    answer_max = parts.logs_answer_max
    budget = answer_max - ENVELOPE_ROOM
    items: list[orjson.Fragment] = []
    size, truncated = 0, False
    try:
        async with contextlib.aclosing(parts.store.recent(name, limit)) as entries:
            async for entry in entries:
                item = orjson.dumps(_item(entry))
                # Each item costs its bytes and a comma; the rest stays unread in the store.
                if size + len(item) + 1 > budget:
                    truncated = True
                    break
                size += len(item) + 1
                items.append(orjson.Fragment(item))
    except StoreUnavailable as exc:
        raise StoreOutage(exc) from exc
    if not truncated:
        return reply(200, f"{len(items)} entries", items)
    message = f"{len(items)} entries: more match, but an answer stops at {answer_max} bytes"
    return reply(200, message, items, headers={TRUNCATED_HEADER: "true"})
