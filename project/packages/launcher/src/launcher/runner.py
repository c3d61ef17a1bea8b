"""Start processes in readiness order, print their output with a coloured name, stop them all.

honcho's Printer formats the interleaved output (its Manager starts everything at once and
knows nothing of readiness, so the ordering and the stopping are ours, on asyncio).
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


class Runner:
    def __init__(self, console: Console, *, ready_timeout: float, stop_grace: float) -> None:
        self.console = console
        self.ready_timeout = ready_timeout
        self.stop_grace = stop_grace
        self.started: list[tuple[str, asyncio.subprocess.Process]] = []
        self._pumps: list[asyncio.Task[None]] = []
        self._exits: dict[str, asyncio.Task[int]] = {}
        self._http = httpx.AsyncClient(timeout=1.0, trust_env=False)

    async def start_all(self, services: list[Service]) -> None:
        """Start each service once all it needs is ready; raise `StartFailed` on a failure."""
        ready = {s.name: asyncio.Event() for s in services}
        for s in services:
            unknown = set(s.needs) - set(ready)
            if unknown:
                raise StartFailed(f"{s.name} needs {', '.join(sorted(unknown))}, not in the plan")

        async def bring_up(service: Service) -> None:
            for need in service.needs:
                await ready[need].wait()
            proc = await self._spawn(service)
            await self._wait_ready(service, proc)
            ready[service.name].set()

        try:
            async with asyncio.TaskGroup() as group:
                for s in services:
                    group.create_task(bring_up(s))
        except* StartFailed as failures:
            raise failures.exceptions[0] from None

    async def _spawn(self, service: Service) -> asyncio.subprocess.Process:
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
        self.started.append((service.name, proc))
        self._pumps.append(asyncio.create_task(self._pump(service.name, proc)))
        self._exits[service.name] = asyncio.create_task(proc.wait())
        self.console.say(f"started {service.name} (pid {proc.pid})")
        return proc

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

    async def _wait_ready(self, service: Service, proc: asyncio.subprocess.Process) -> None:
        began = time.monotonic()
        deadline = began + self.ready_timeout
        next_note = began + 10
        while True:
            if proc.returncode is not None:
                raise StartFailed(
                    f"{service.name} exited with code {proc.returncode} before it was ready"
                )
            last = await self._probe(service.ready_url)
            if last == "ready":
                took = time.monotonic() - began
                self.console.say(f"{service.name} is ready ({took:.1f} s)")
                return
            now = time.monotonic()
            if now >= deadline:
                raise StartFailed(
                    f"{service.name} was not ready within {self.ready_timeout:g} s "
                    f"({service.ready_url}: {last})"
                )
            if now >= next_note:
                self.console.say(f"still waiting for {service.name}: {last}")
                next_note = now + 10
            await asyncio.wait([self._exits[service.name]], timeout=0.2)

    async def _probe(self, ready_url: str) -> str:
        """`ready`, or what the service answered instead."""
        if ready_url.startswith("tcp://"):
            parts = urlsplit(ready_url)
            address = Address(parts.hostname or "127.0.0.1", parts.port or 0)
            return "ready" if await address.answers(0.5) else "not listening yet"
        try:
            resp = await self._http.get(ready_url)
        except httpx.ConnectError:
            return "not listening yet"
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__} {exc}".strip()
        if resp.status_code == 200:
            return "ready"
        return f"{resp.status_code} {_message(resp)}"

    async def first_exit(self) -> tuple[str, int]:
        """Wait until any started process exits; its name and exit code."""
        names = {task: name for name, task in self._exits.items()}
        done, _ = await asyncio.wait(names, return_when=asyncio.FIRST_COMPLETED)
        task = done.pop()
        return names[task], task.result()

    async def stop_all(self) -> None:
        """SIGTERM each process, newest first; SIGKILL any group still alive after the grace."""
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
        """The impatient path (a second Ctrl-C): SIGKILL every group at once."""
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
