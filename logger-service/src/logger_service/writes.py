"""The one write path of every door: the store write, its count by door and outcome, and what
an outage tells the caller. A door only translates its wire format to and from these calls
(HTTP lets `StoreOutage` answer 503 itself; RPC and gRPC turn it into their own error)."""

from collections.abc import Iterable

from svckit.errors import ServiceError

from logger_service.metrics import written
from logger_service.store import UNAVAILABLE, LogStore, StoreUnavailable, Written


class StoreOutage(ServiceError):
    """The store is away: 503, and the same message on every door."""

    def __init__(self, exc: StoreUnavailable) -> None:
        super().__init__(503, f"{UNAVAILABLE}: {exc}")


async def write(
    store: LogStore, door: str, name: str, data: str, event_id: str | None = None
) -> Written:
    """Store one entry that came through `door` (`http`, `gob`, `jsonrpc`, `grpc`)."""
    try:
        outcome = await store.write(name, data, event_id)
    except StoreUnavailable as exc:
        written(door, ok=False)
        raise StoreOutage(exc) from exc
    written(door, ok=True)
    return outcome


async def write_many(
    store: LogStore, door: str, entries: Iterable[tuple[str, str, str | None]]
) -> list[Written | StoreOutage]:
    """Each `(name, data, event_id)`'s outcome, in order, each counted as a write of its own."""
    outcomes: list[Written | StoreOutage] = []
    for outcome in await store.write_many(entries):
        written(door, ok=isinstance(outcome, Written))
        outcomes.append(StoreOutage(outcome) if isinstance(outcome, StoreUnavailable) else outcome)
    return outcomes
