"""bcrypt checks as Go's `golang.org/x/crypto/bcrypt` makes them, off the event loop.

Each check runs in a worker thread (bcrypt releases the GIL): one client gets at most one per
core, so its logins use every core while the event loop stays free to answer `/ping`, and one
thread more is kept for everyone else, so another client's login starts at once rather than
after one of a burst's checks. The wait for a thread is bounded: a login that would queue
behind a full line gets 503 at once.
"""

import asyncio
import contextlib
import logging
import os
import re
import secrets
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import bcrypt
from svckit.errors import ServiceError
from svckit.metrics import service

from authentication_service.fair_line import FairLine
from authentication_service.metrics import PASSWORD_CHECK

T = TypeVar("T")

log = logging.getLogger(__name__)

# Go's bcrypt feeds Blowfish the first 72 bytes of the password and ignores the rest.
MAX_PASSWORD_BYTES = 72
_HASH = re.compile(rb"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# The hashing threads give way to the loop; alone on a machine they still use it all.
_WORKER_NICENESS = 5


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one, as Linux)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _yield_to_the_event_loop() -> None:
    """On Linux, lower this worker thread's priority, so the event loop answering `/ping` and
    other requests is not queued behind hashing. Linux alone gives each thread its own
    niceness; elsewhere the call would lower the whole process, so it is skipped."""
    if sys.platform != "linux":
        return
    thread = threading.get_native_id()
    niceness = os.getpriority(os.PRIO_PROCESS, thread)
    # Raising one's niceness needs no privilege; 19 is the ceiling.
    os.setpriority(os.PRIO_PROCESS, thread, min(19, niceness + _WORKER_NICENESS))


def password_bytes(password: str) -> bytes:
    """The bytes bcrypt hashes: UTF-8, cut at 72 bytes (mid-character if need be, as Go does).

    Go's JSON decoder turns a lone surrogate escape into U+FFFD; so do we.
    """
    return _LONE_SURROGATE.sub("\ufffd", password).encode()[:MAX_PASSWORD_BYTES]


def cost_of(hashed: bytes) -> int | None:
    """The cost of a bcrypt hash (`$2a$12$...` → 12); None when it is not a usable one."""
    match = _HASH.fullmatch(hashed)
    if match is None or not 4 <= int(match.group(1)) <= 31:
        return None
    return int(match.group(1))


class PasswordsBusy(ServiceError):
    """Every bcrypt thread is busy and the line before them is full: 503, try again shortly."""

    def __init__(self) -> None:
        super().__init__(503, "too many logins at once; try again shortly", {"Retry-After": "1"})


class PasswordChecker:
    """Checks passwords against stored hashes; `checks` counts the checks made, by cost.

    At most `threads` checks of one client run at once, `threads + 1` in all (the spare is
    for a client other than a busy one), and `queue` more wait; `admitted()` refuses the next
    one. The waiting checks take the threads in turn by client (`FairLine`), so one client's
    burst never stands between everyone else and a thread.
    """

    def __init__(self, threads: int = 0, queue: int = 16) -> None:
        self.threads = threads or cores()
        self.capacity = self.threads + 1 + queue
        self.admitted_now = 0
        self._slots = FairLine(self.threads + 1, per_client=self.threads)
        self._pool = ThreadPoolExecutor(
            self.threads + 1, thread_name_prefix="bcrypt", initializer=_yield_to_the_event_loop
        )
        self.checks: Counter[int] = Counter()
        self._stand_in = b""

    async def prepare(self, cost: int) -> None:
        """Make the stand-in hash an unknown email is checked against (Go's `$2a$` format)."""
        secret = secrets.token_urlsafe(32).encode()
        self._stand_in = await self._run(bcrypt.hashpw, secret, bcrypt.gensalt(cost, b"2a"))

    @contextlib.contextmanager
    def admitted(self) -> Iterator[None]:
        """A place in line for one login's check, taken before its database lookup, so a full
        line costs the refused login nothing; PasswordsBusy when there is none."""
        if self.admitted_now >= self.capacity:
            raise PasswordsBusy
        self.admitted_now += 1
        try:
            yield
        finally:
            self.admitted_now -= 1

    async def matches(self, password: str, hashed: str | None, client: str = "") -> bool:
        """Exactly one bcrypt check: against `hashed`, or against the stand-in when there is no
        user (or the stored value is not a bcrypt hash), so every failure costs the same;
        `client` (an address) takes its turn for a thread."""
        if not self._stand_in:
            raise RuntimeError("PasswordChecker.prepare() has not run")
        stored = (hashed or "").encode("ascii", "replace")
        cost = cost_of(stored)
        real = cost is not None
        if cost is None:
            if hashed:
                log.warning("a stored password is not a bcrypt hash; that login fails")
            stored, cost = self._stand_in, cost_of(self._stand_in)
        self.checks[cost or 0] += 1
        ok = await self._run(bcrypt.checkpw, password_bytes(password), stored, client)
        return ok and real

    async def _run(
        self, fn: Callable[[bytes, bytes], T], data: bytes, salt: bytes, client: str = ""
    ) -> T:
        with PASSWORD_CHECK.labels(service()).time():
            await self._slots.acquire(client)
            try:
                return await asyncio.get_running_loop().run_in_executor(self._pool, fn, data, salt)
            finally:
                self._slots.release(client)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
