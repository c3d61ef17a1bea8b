"""A steady trickle of log events through one door of the broker, for the lab.

The requests go out at a fixed rate whatever the answers take (a late answer never delays the
next request), each counted by its status; the events the logger has stored are counted by the
run's own entry name, so "accepted" and "stored" compare the same events.
"""

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any

import httpx

# The door as the page names it → (broker path, action for /handle or None).
DOORS: dict[str, tuple[str, str | None]] = {
    "/log-rabbit": ("/log-rabbit", None),
    "/log-http": ("/log-http", None),
    "/log-grpc": ("/log-grpc", None),
    "/log-rpc": ("/log-rpc", None),
    "/handle log": ("/handle", "log"),
}
MAX_RATE = 20.0
# The logger's `GET /logs` returns at most 500 entries: a run stops there, so every event it
# sent can be counted as stored.
MAX_EVENTS = 500
# The page's own deadline for one call, so a hung service shows as a late answer.
CALL_TIMEOUT = 15.0


class Trickle:
    def __init__(self, broker_url: str, logger_url: str) -> None:
        self.broker_url = broker_url
        self.logger_url = logger_url
        self._http = httpx.AsyncClient(timeout=CALL_TIMEOUT, trust_env=False)
        self._task: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self.door = ""
        self.rate = 0.0
        self.name = ""
        self.sent = 0
        self.statuses: Counter[str] = Counter()
        self.last = ""
        self.stored = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, door: str, rate: float) -> None:
        """A new run (its own entry name and counts), replacing the one going on."""
        if door not in DOORS:
            raise ValueError(f"unknown door {door!r}: one of {', '.join(DOORS)}")
        if not 0 < rate <= MAX_RATE:
            raise ValueError(f"the rate must be above 0 and at most {MAX_RATE:g} per second")
        self.stop()
        self.door, self.rate = door, rate
        self.name = f"trickle-{time.strftime('%H%M%S')}-{time.monotonic_ns() % 10_000:04d}"
        self.sent, self.stored, self.last = 0, 0, ""
        self.statuses.clear()
        self._task = asyncio.create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def close(self) -> None:
        self.stop()
        for call in list(self._calls):
            call.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)
        await self._http.aclose()

    async def _run(self) -> None:
        began = time.monotonic()
        while self.sent < MAX_EVENTS:
            self.sent += 1
            call = asyncio.create_task(self._call(self.sent))
            self._calls.add(call)
            call.add_done_callback(self._calls.discard)
            # On a fixed schedule from the start: a slow call does not shift the next.
            await asyncio.sleep(max(0.0, began + self.sent / self.rate - time.monotonic()))

    async def _call(self, number: int) -> None:
        path, action = DOORS[self.door]
        entry = {"name": self.name, "data": f"{self.door} event {number}"}
        body: dict[str, Any] = {"log": entry}
        if action is not None:
            body["action"] = action
        try:
            resp = await self._http.post(self.broker_url + path, json=body)
        except httpx.TimeoutException:
            self._count("no answer", f"no answer within {CALL_TIMEOUT:g} s")
            return
        except httpx.HTTPError as exc:
            self._count("refused", f"cannot reach the broker ({type(exc).__name__})")
            return
        try:
            message = str(resp.json().get("message", ""))
        except ValueError:
            message = resp.text[:120]
        self._count(str(resp.status_code), message)

    def _count(self, status: str, message: str) -> None:
        self.statuses[status] += 1
        self.last = f"{status} {message}".strip()

    async def count_stored(self) -> None:
        """How many of this run's events the logger holds (asked of the logger itself)."""
        if not self.name:
            return
        with contextlib.suppress(httpx.HTTPError, ValueError):
            resp = await self._http.get(
                self.logger_url + "/logs",
                params={"name": self.name, "limit": str(MAX_EVENTS)},
                timeout=1.0,
            )
            if resp.status_code == 200:
                self.stored = len(resp.json()["data"])

    def snapshot(self) -> dict[str, Any]:
        accepted = sum(n for status, n in self.statuses.items() if status.startswith("2"))
        return {
            "running": self.running,
            "door": self.door,
            "rate": self.rate,
            "name": self.name,
            "sent": self.sent,
            "answered": sum(self.statuses.values()),
            "accepted": accepted,
            "failed": sum(self.statuses.values()) - accepted,
            "statuses": dict(self.statuses),
            "last": self.last,
            "stored": self.stored,
        }
