"""`GET /ready`: every dependency checked concurrently, each within its deadline (1 s)."""

import asyncio
from collections.abc import Awaitable, Callable

Check = Callable[[], Awaitable[object]]


class Readiness:
    """Named dependency checks; a check passes when it returns, fails when it raises or is late."""

    def __init__(self, timeout: float = 1.0) -> None:
        self.timeout = timeout
        self._checks: dict[str, Check] = {}

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def _run(self, check: Check) -> str:
        try:
            await asyncio.wait_for(check(), self.timeout)
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except Exception as exc:
            return str(exc) or type(exc).__name__
        return "ok"

    async def report(self) -> dict[str, str]:
        names = list(self._checks)
        results = await asyncio.gather(*(self._run(self._checks[n]) for n in names))
        return dict(zip(names, results, strict=True))
