"""Start processes in readiness order, restart any that exits, print their output, stop them all.

honcho's Printer formats the interleaved output (its Manager starts everything at once, knows
nothing of readiness and stops everything when one process ends, so the ordering, the
supervision and the stopping are ours, on asyncio).
"""

import asyncio
import contextlib
import ctypes
import datetime
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO
from urllib.parse import urlsplit

import httpx
from honcho.colour import get_colours
from honcho.printer import Message, Printer

from launcher.plan import Service
from launcher.probes import Address

_PR_SET_PDEATHSIG = 1


def _death_signal() -> Callable[[], None] | None:
    """Linux only: a child that gets SIGTERM if the launcher dies (even by SIGKILL), so nothing is
    left behind. Other systems have no such call; there the launcher's own stop is the path."""
    if sys.platform != "linux":
        return None
    # Resolved once in the parent: the child only calls it between fork and exec.
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def die_with_launcher() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return die_with_launcher


_DIE_WITH_LAUNCHER = _death_signal()

# How a wait for readiness ended, when not with the service's last answer.
READY, EXITED, STOPPING = "ready", "exited", "stopping"


class StartFailed(Exception):
    """A service exited or did not become ready in time; the message says which and why."""


class Console:
    """Every line goes out as `time name | text`, the name coloured per process on a terminal."""

    def __init__(self, names: Iterable[str], output: IO[str] = sys.stdout) -> None:
        names = ["launcher", *names]
        self._printer = Printer(output=output, width=max(map(len, names)))
        colours = get_colours()
        self._colours = {name: next(colours) for name in names}
        self._colours["launcher"] = None

    def line(self, name: str, text: str) -> None:
        now = datetime.datetime.now()
        self._printer.write(Message("line", text, now, name, self._colours.get(name)))

    def say(self, text: str) -> None:
        self.line("launcher", text)


@dataclass
class Running:
    """A service's current process and the task awaiting its exit."""

    service: Service
    proc: asyncio.subprocess.Process
    exited: asyncio.Task[int]
    restarts: int = 0
    # When it last became ready (monotonic seconds); None while it is not.
    ready_at: float | None = None


@dataclass(frozen=True)
class Restarts:
    """compose's `restart: unless-stopped`: the first restart after `delay` seconds, each next one
    after twice the last, at most `max_delay`; `delay` again once the service stayed ready for
    `reset_after` seconds."""

    delay: float = 0.5
    max_delay: float = 30.0
    reset_after: float = 10.0


class Runner:
    def __init__(
        self,
        console: Console,
        *,
        ready_timeout: float,
        stop_grace: float,
        restarts: Restarts | None = None,
    ) -> None:
        self.console = console
        self.ready_timeout = ready_timeout
        self.stop_grace = stop_grace
        self.restarts = restarts or Restarts()
        # By name, in the order of first start (the stop goes the other way).
        self.running: dict[str, Running] = {}
        self._pumps: list[asyncio.Task[None]] = []
        self._supervisors: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        # Services the lab killed: not restarted until it releases them (`release`).
        self._held: dict[str, asyncio.Event] = {}
        self._http = httpx.AsyncClient(timeout=1.0, trust_env=False)

    @property
    def started(self) -> list[tuple[str, asyncio.subprocess.Process]]:
        """Each service's current process, in the order they first started."""
        return [(name, running.proc) for name, running in self.running.items()]

    async def start_all(self, services: list[Service]) -> None:
        """Start each service once all it needs is ready; raise `StartFailed` on a failure.

        A service is supervised from the moment it is first ready.
        """
        ready = {s.name: asyncio.Event() for s in services}
        for s in services:
            unknown = set(s.needs) - set(ready)
            if unknown:
                raise StartFailed(f"{s.name} needs {', '.join(sorted(unknown))}, not in the plan")

        async def bring_up(service: Service) -> None:
            for need in service.needs:
                await ready[need].wait()
            running = await self._spawn(service)
            self.console.say(f"started {service.name} (pid {running.proc.pid})")
            last = await self._until_ready(running, time.monotonic() + self.ready_timeout)
            if last == EXITED:
                code = running.proc.returncode
                raise StartFailed(f"{service.name} exited with code {code} before it was ready")
            if last != READY:
                raise StartFailed(
                    f"{service.name} was not ready within {self.ready_timeout:g} s "
                    f"({service.ready_url}: {last})"
                )
            running.ready_at = time.monotonic()
            ready[service.name].set()
            self._supervisors.append(asyncio.create_task(self._supervise(running)))

        try:
            async with asyncio.TaskGroup() as group:
                for s in services:
                    group.create_task(bring_up(s))
        except* StartFailed as failures:
            raise failures.exceptions[0] from None

    async def _spawn(self, service: Service, restarts: int = 0) -> Running:
        env = {**os.environ, "LOG_FORMAT": "text", "PYTHONUNBUFFERED": "1"}
        if "LOG_FORMAT" in os.environ:
            env["LOG_FORMAT"] = os.environ["LOG_FORMAT"]
        proc = await asyncio.create_subprocess_exec(
            *service.argv,
            env={**env, **service.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own process group: a terminal's Ctrl-C reaches the launcher alone, which then
            # stops the services in order; and a whole group can be killed if one is stuck.
            process_group=0,
            preexec_fn=_DIE_WITH_LAUNCHER,
            limit=1024 * 1024,
        )
        running = Running(service, proc, asyncio.create_task(proc.wait()), restarts)
        self.running[service.name] = running
        self._pumps.append(asyncio.create_task(self._pump(service.name, proc)))
        return running

    async def _pump(self, name: str, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            try:
                raw = await proc.stdout.readline()
            except ValueError:  # a line over the limit: the reader skipped it
                self.console.line(name, "(a line too long to show was skipped)")
                continue
            if not raw:
                return
            self.console.line(name, raw.decode(errors="replace").rstrip("\r\n"))

    async def _until_ready(self, running: Running, deadline: float | None) -> str:
        """`ready` once the service answers, `exited` if it ends first, or its last answer at
        the deadline (None: no deadline, as after a restart; a stop ends the wait)."""
        service, began = running.service, time.monotonic()
        again = " again" if running.restarts else ""
        next_note = began + 10
        while not self._stopping.is_set():
            if running.exited.done():
                return EXITED
            last = await self.probe(service.ready_url)
            now = time.monotonic()
            if last == READY:
                self.console.say(f"{service.name} is ready{again} ({now - began:.1f} s)")
                return READY
            if deadline is not None and now >= deadline:
                return last
            if now >= next_note:
                self.console.say(f"still waiting for {service.name}: {last}")
                next_note = now + 10
            await asyncio.wait([running.exited], timeout=0.2)
        return STOPPING

    async def _supervise(self, running: Running) -> None:
        """Restart the service whenever it exits, until the stop; `running` is ready now."""
        name = running.service.name
        delay = self.restarts.delay
        while True:
            stopping = asyncio.create_task(self._stopping.wait())
            await asyncio.wait([running.exited, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if self._stopping.is_set():
                return
            if running.ready_at is None:
                lasted = "before it was ready"
            else:
                up = time.monotonic() - running.ready_at
                lasted = f"after {up:.1f} s ready"
                if up >= self.restarts.reset_after:
                    delay = self.restarts.delay
            status = _exit_status(running.exited.result())
            restart = running.restarts + 1
            release = self._held.get(name)
            then = (
                f"restart {restart} in {delay:g} s"
                if release is None
                else "held until the lab restarts it"
            )
            self.console.say(f"{name} exited ({status}) {lasted}: {then}")
            # Whatever it left behind in its group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(running.proc.pid, signal.SIGKILL)
            if release is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                when = f"{delay:g} s after it exited"
                delay = min(delay * 2, self.restarts.max_delay)
            else:
                await self._released(release)
                self._held.pop(name, None)
                when = "by the lab"
            if self._stopping.is_set():
                return
            running = await self._spawn(running.service, restart)
            self.console.say(
                f"started {name} (pid {running.proc.pid}): restart {restart}, {when} ({status})"
            )
            if await self._until_ready(running, None) == READY:
                running.ready_at = time.monotonic()

    async def _released(self, release: asyncio.Event) -> None:
        """Until the lab releases the service, or the stop."""
        stopping = asyncio.create_task(self._stopping.wait())
        released = asyncio.create_task(release.wait())
        await asyncio.wait([stopping, released], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        released.cancel()

    def hold(self, name: str) -> None:
        """The next exit of `name` is not followed by a restart until `release(name)`."""
        self._held.setdefault(name, asyncio.Event())

    def release(self, name: str) -> bool:
        """Start `name` again now if it is held (True), else nothing (False)."""
        release = self._held.get(name)
        if release is None:
            return False
        release.set()
        return True

    def held(self, name: str) -> bool:
        return name in self._held

    async def probe(self, ready_url: str) -> str:
        """`ready`, or what the service answered instead."""
        if ready_url.startswith("tcp://"):
            parts = urlsplit(ready_url)
            address = Address(parts.hostname or "127.0.0.1", parts.port or 0)
            return READY if await address.answers(0.5) else "not listening yet"
        try:
            resp = await self._http.get(ready_url)
        except httpx.ConnectError:
            return "not listening yet"
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__} {exc}".strip()
        if resp.status_code == 200:
            return READY
        return f"{resp.status_code} {_message(resp)}"

    async def stop_all(self) -> None:
        """No more restarts; SIGTERM each process, newest first; SIGKILL any group still alive
        after the grace."""
        self._stopping.set()
        await asyncio.gather(*self._supervisors, return_exceptions=True)
        for name, proc in reversed(self.started):
            await self._stop(name, proc)
        await asyncio.gather(*self._pumps, return_exceptions=True)
        await self._http.aclose()

    async def _stop(self, name: str, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                code = await asyncio.wait_for(proc.wait(), self.stop_grace)
                self.console.say(f"{name} stopped ({_exit_status(code)})")
            except TimeoutError:
                self.console.say(f"{name} ignored SIGTERM for {self.stop_grace:g} s: killing it")
        # Whatever the service left behind in its group (or all of it, if it ignored SIGTERM).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()

    def kill_all(self) -> None:
        """The impatient path (a second Ctrl-C): no more restarts, SIGKILL every group at once."""
        self._stopping.set()
        for _, proc in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    return str(body.get("message", body)) if isinstance(body, dict) else str(body)[:200]


def _exit_status(code: int) -> str:
    return f"by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
