"""Clients of a running system that call it again and again and record every answer: what the
fault suite and the hostile-input suite judge a run by."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Call:
    route: str
    started: float
    seconds: float
    # The HTTP status (a non-HTTP door maps its success to 200), or None when none came:
    # `refused`, `no answer`, `dropped`, or the door's own error in `outcome`.
    status: int | None
    outcome: str
    message: str = ""
    event_id: str | None = None

    @property
    def ended(self) -> float:
        return self.started + self.seconds


def succeeded(call: Call) -> bool:
    return call.status is not None and 200 <= call.status < 300


def failure(exc: BaseException) -> str:
    """What a failed call raised, with the error at the root of its chain when that is another
    (httpx's `ReadError` says nothing; the `ConnectionResetError` under it does)."""
    said = f"{type(exc).__name__}: {exc}"
    root, seen = exc, {id(exc)}
    while (cause := root.__cause__ or root.__context__) is not None and id(cause) not in seen:
        root = cause
        seen.add(id(cause))
    return said if root is exc else f"{said} (from {type(root).__name__}: {root})"


Probe = Callable[[], Awaitable[Call]]


class Callers:
    """`callers` tasks per probe, each calling it every `pace` seconds until `stop()`; every
    answer lands in `calls`."""

    def __init__(self, probes: Mapping[str, Probe], *, callers: int, pace: float) -> None:
        self.calls: list[Call] = []
        self._probes = dict(probes)
        self._callers = callers
        self._pace = pace
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for probe in self._probes.values():
            for _ in range(self._callers):
                self._tasks.append(asyncio.create_task(self._keep_calling(probe)))

    async def once(self) -> list[Call]:
        """Every probe called once, all at the same time (outside the loop's `calls`)."""
        return list(await asyncio.gather(*(probe() for probe in self._probes.values())))

    async def stop(self) -> None:
        self._stopping.set()
        await asyncio.gather(*self._tasks)

    async def _keep_calling(self, probe: Probe) -> None:
        while not self._stopping.is_set():
            self.calls.append(await probe())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._pace)
