"""Group commit: a lone caller goes at once; callers arriving during a commit share the next."""

import asyncio
import contextvars
from collections.abc import Callable

import pytest
from devkit.wait import await_for
from svckit.batching import GroupCommit

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


class Store:
    """A commit that records each batch (and whose context it ran in); with `held`, each
    commit waits for a `release()`."""

    def __init__(self, held: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.contexts: list[str] = []
        self.permits = asyncio.Semaphore(0 if held else 1000)
        self.fail: Exception | None = None

    def release(self, n: int = 1) -> None:
        for _ in range(n):
            self.permits.release()

    async def commit(self, items: list[int]) -> list[str | BaseException]:
        self.batches.append(items)
        self.contexts.append(WHO.get())
        await self.permits.acquire()
        if self.fail is not None:
            raise self.fail
        return [ValueError(f"odd {i}") if i % 2 else f"ok {i}" for i in items]


async def as_caller(name: str, group: GroupCommit[int, str], item: int) -> str:
    WHO.set(name)
    return await group.submit(item, timeout=5)


async def until(condition: Callable[[], object]) -> None:
    async def check() -> object:
        return condition()

    await await_for(check, 5, interval=0.001)


async def test_a_lone_caller_commits_at_once_alone() -> None:
    store = Store()
    group = GroupCommit(store.commit, max_batch=10)
    assert await group.submit(2) == "ok 2"
    assert store.batches == [[2]]


async def test_callers_arriving_during_a_commit_form_the_next_bounded_by_max_batch() -> None:
    store = Store(held=True)
    group = GroupCommit(store.commit, max_batch=3)
    first = asyncio.create_task(as_caller("first", group, 0))
    await until(lambda: store.batches)
    rest = [asyncio.create_task(as_caller(f"c{i}", group, i * 2)) for i in range(1, 6)]
    await until(lambda: group.waiting == 5)
    store.release(3)
    assert await first == "ok 0"
    assert await asyncio.gather(*rest) == ["ok 2", "ok 4", "ok 6", "ok 8", "ok 10"]
    assert store.batches == [[0], [2, 4, 6], [8, 10]]
    # Each commit runs as its first caller: its spans belong to that caller's trace.
    assert store.contexts == ["first", "c1", "c4"]


async def test_each_caller_gets_its_own_outcome_and_a_failed_commit_fails_its_batch_only() -> None:
    store = Store()
    group = GroupCommit(store.commit, max_batch=10)
    outcomes = await group.submit_many([1, 2, 3])
    assert [str(o) for o in outcomes] == ["odd 1", "ok 2", "odd 3"]
    with pytest.raises(ValueError, match="odd 5"):
        await group.submit(5)
    store.fail = ConnectionError("store away")
    with pytest.raises(ConnectionError):
        await group.submit(4)
    store.fail = None
    assert await group.submit(6) == "ok 6"


async def test_a_caller_out_of_time_or_cancelled_while_queued_is_left_out_of_the_batch() -> None:
    store = Store(held=True)
    group = GroupCommit(store.commit, max_batch=10)
    first = asyncio.create_task(group.submit(0))
    await until(lambda: store.batches)
    with pytest.raises(TimeoutError):
        await group.submit(2, timeout=0.01)
    cancelled = asyncio.create_task(group.submit(4))
    kept = asyncio.create_task(group.submit(6))
    await until(lambda: group.waiting == 3)
    cancelled.cancel()
    store.release(2)
    assert await first == "ok 0"
    assert await kept == "ok 6"
    assert cancelled.cancelled()
    assert store.batches == [[0], [6]]


async def test_a_caller_cancelled_mid_commit_leaves_the_commit_to_the_others() -> None:
    store = Store(held=True)
    group = GroupCommit(store.commit, max_batch=10)
    blocker = asyncio.create_task(group.submit(0))
    await until(lambda: store.batches)
    outcomes = asyncio.create_task(group.submit_many([2, 4]))
    leaving = asyncio.create_task(group.submit(8))
    await until(lambda: group.waiting == 3)
    store.release()
    await blocker
    await until(lambda: len(store.batches) == 2)
    # The second commit is in flight; its third caller leaves, the others still get theirs.
    leaving.cancel()
    store.release()
    assert await outcomes == ["ok 2", "ok 4"]
    assert store.batches == [[0], [2, 4, 8]]


async def test_submit_many_gives_timeouts_to_the_items_not_committed_in_time() -> None:
    store = Store(held=True)
    group = GroupCommit(store.commit, max_batch=2)
    outcomes = await group.submit_many([2, 4, 6], timeout=0.05)
    assert all(isinstance(o, TimeoutError) for o in outcomes)
    store.release(2)
    assert await group.submit(8) == "ok 8"
    # The timed-out items of the queue never went: only the first batch had left.
    assert store.batches == [[2, 4], [8]]


async def test_with_two_in_flight_a_second_commit_starts_while_the_first_is_held() -> None:
    store = Store(held=True)
    group = GroupCommit(store.commit, max_batch=10, max_in_flight=2)
    first = asyncio.create_task(group.submit(0))
    second = asyncio.create_task(group.submit(2))
    await until(lambda: len(store.batches) == 2)
    third = [asyncio.create_task(group.submit(i)) for i in (4, 6)]
    await until(lambda: group.waiting == 2)
    store.release(3)
    assert [await first, await second, *await asyncio.gather(*third)] == [
        "ok 0",
        "ok 2",
        "ok 4",
        "ok 6",
    ]
    assert store.batches == [[0], [2], [4, 6]]
