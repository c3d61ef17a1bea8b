"""Group commit: callers that arrive while a commit is in flight share the next one.

At most `max_in_flight` commits are in flight (one by default). A caller who finds room
starts one at once with its own item, so a lone caller waits for nothing (no timer, no
linger); callers arriving while there is none queue up and leave together in the next
commit, at most `max_batch` items each.
The commit answers one outcome per item, a result or an exception for that item alone; a
commit that raises fails every item of its batch. Each caller waits for its own outcome only,
within its own deadline; a caller cancelled (or out of time) before its batch leaves is left
out of it, and one cancelled later leaves the commit running for the others.

Each commit runs in the context (`contextvars`) of its first caller, so a span it opens (a
database command, an HTTP call) belongs to that caller's trace.
"""

import asyncio
import collections
import contextvars
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Commit = Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]


@dataclass(eq=False, slots=True)
class _Waiter(Generic[T, R]):
    item: T
    future: "asyncio.Future[R]"
    context: contextvars.Context


class GroupCommit(Generic[T, R]):
    def __init__(self, commit: Commit[T, R], max_batch: int, max_in_flight: int = 1) -> None:
        if max_batch < 1 or max_in_flight < 1:
            raise ValueError("max_batch and max_in_flight must be at least 1")
        self._commit = commit
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._waiting: collections.deque[_Waiter[T, R]] = collections.deque()
        self._flushing: set[asyncio.Task[None]] = set()

    @property
    def waiting(self) -> int:
        """Items queued for the next commit (some may have been given up on)."""
        return len(self._waiting)

    async def submit(self, item: T, timeout: float | None = None) -> R:
        """The outcome of `item`'s commit; TimeoutError once `timeout` seconds have passed."""
        waiter = self._enqueue(item)
        self._kick()
        # Cancelling this task (or the timeout doing so) cancels the future the commit checks.
        async with asyncio.timeout(timeout):
            return await waiter.future

    async def submit_many(
        self, items: Iterable[T], timeout: float | None = None
    ) -> list[R | BaseException]:
        """Each item's outcome, in order (TimeoutError for those not committed in time); the
        items queue together, so they share commits rather than one starting alone."""
        waiters = [self._enqueue(item) for item in items]
        if not waiters:
            return []
        self._kick()
        futures = [w.future for w in waiters]
        try:
            await asyncio.wait(futures, timeout=timeout)
        finally:
            for future in futures:
                future.cancel()  # no-op for those done
        return [TimeoutError() if f.cancelled() else (f.exception() or f.result()) for f in futures]

    def _enqueue(self, item: T) -> _Waiter[T, R]:
        loop = asyncio.get_running_loop()
        waiter = _Waiter(item, loop.create_future(), contextvars.copy_context())
        self._waiting.append(waiter)
        return waiter

    def _kick(self) -> None:
        """Start commits while there is room (each one in flight starts the next when done)."""
        while self._waiting and len(self._flushing) < self.max_in_flight:
            batch: list[_Waiter[T, R]] = []
            while self._waiting and len(batch) < self.max_batch:
                waiter = self._waiting.popleft()
                if not waiter.future.done():
                    batch.append(waiter)
            if batch:
                task = asyncio.create_task(self._flush(batch), context=batch[0].context)
                self._flushing.add(task)

    async def _flush(self, batch: list[_Waiter[T, R]]) -> None:
        try:
            try:
                outcomes: Sequence[R | BaseException] = await self._commit([w.item for w in batch])
                if len(outcomes) != len(batch):
                    raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} items")
            except asyncio.CancelledError:
                for waiter in batch:
                    waiter.future.cancel()
                raise
            except Exception as exc:
                outcomes = [exc] * len(batch)
            for waiter, outcome in zip(batch, outcomes, strict=True):
                if waiter.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    waiter.future.set_exception(outcome)
                else:
                    waiter.future.set_result(outcome)
        finally:
            task = asyncio.current_task()
            if task is not None:
                self._flushing.discard(task)
            self._kick()
