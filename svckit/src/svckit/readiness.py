"""`GET /ready`: every dependency checked concurrently, each within its deadline (1 s).

The report is public, so a failing check shows as `unavailable` (or its own public message,
when it raises a `ServiceError`); what it raised goes to the log, once per change of state.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from svckit.errors import ServiceError

Check = Callable[[], Awaitable[object]]

log = logging.getLogger(__name__)

OK = "ok"


class Readiness:
    """Named dependency checks; a check passes when it returns, fails when it raises or is late."""

    def __init__(self, timeout: float = 1.0) -> None:
        self.timeout = timeout
        self._checks: dict[str, Check] = {}
        self._last: dict[str, str] = {}

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def _run(self, name: str, check: Check) -> str:
        try:
            await asyncio.wait_for(check(), self.timeout)
        except TimeoutError:
            state = detail = f"no answer within {self.timeout:g} s"
        except ServiceError as exc:
            state, detail = exc.message, exc.detail or exc.message
        except Exception as exc:
            state, detail = "unavailable", str(exc) or type(exc).__name__
        else:
            state = detail = OK
        if self._last.get(name, OK) != state:
            if state == OK:
                log.info("dependency %s answers again", name)
            else:
                log.warning("dependency %s: %s", name, detail)
        self._last[name] = state
        return state

    async def report(self) -> dict[str, str]:
        names = list(self._checks)
        results = await asyncio.gather(*(self._run(n, self._checks[n]) for n in names))
        return dict(zip(names, results, strict=True))
