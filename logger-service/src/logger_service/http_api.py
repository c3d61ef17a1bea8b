"""The HTTP door: `POST /log` and `GET /logs`; routes only, storage lives in `store`."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from svckit.envelope import Envelope, reply
from svckit.errors import ServiceError
from svckit.go_json import GoModel

from logger_service.metrics import written
from logger_service.store import UNAVAILABLE, LogEntry, LogStore, StoreUnavailable

router = APIRouter(tags=["logs"])


class LogIn(GoModel):
    name: str
    data: str
    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Makes the write idempotent: a repeat stores nothing and still answers 202.",
    )


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


def _store(request: Request) -> LogStore:
    store: LogStore = request.app.state.store
    return store


Store = Annotated[LogStore, Depends(_store)]


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


def _unavailable(exc: StoreUnavailable) -> ServiceError:
    return ServiceError(503, f"{UNAVAILABLE}: {exc}")


@router.post(
    "/log",
    status_code=202,
    response_model=Envelope,
    responses={**ERRORS, 413: {"model": Envelope, "description": "body over 1 MiB"}},
)
async def write_log(entry: LogIn, store: Store) -> JSONResponse:
    """Store one entry; answers 202 `logged` (also for a repeated `event_id`)."""
    try:
        await store.write(entry.name, entry.data, entry.event_id)
    except StoreUnavailable as exc:
        written("http", ok=False)
        raise _unavailable(exc) from exc
    written("http", ok=True)
    return reply(202, "logged")


@router.get("/logs", response_model=Envelope[list[LogItem]], responses=ERRORS)
async def recent_logs(
    store: Store,
    name: Annotated[str | None, Query(description="only entries with this name")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="at most this many")] = 50,
) -> JSONResponse:
    """The newest entries first."""
    try:
        entries = await store.recent(name, limit)
    except StoreUnavailable as exc:
        raise _unavailable(exc) from exc
    return reply(200, f"{len(entries)} entries", [_item(e) for e in entries])
