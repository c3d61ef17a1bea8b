"""Failed logins counted per client address and per email with `limits` (a moving window).

Only failures are counted, and a client over either limit is refused before any bcrypt
work, so guessing costs the service nothing once limited. The storage is this process's
memory by default, or Redis so that replicas share the counts. When the storage fails, the
login goes ahead unlimited (and the failure is logged): the limiter never denies a login.
"""

import asyncio
import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

log = logging.getLogger(__name__)


def async_storage_url(url: str) -> str:
    """`memory://` or `redis://...` as the setting says, in the async form `limits` wants."""
    return url if url.startswith("async+") else f"async+{url}"


class FailureLimiter:
    def __init__(
        self,
        storage_url: str,
        *,
        per_address: str,
        per_email: str,
        namespace: str,
        timeout: float,
    ) -> None:
        storage = storage_from_string(async_storage_url(storage_url))
        assert isinstance(storage, Storage)
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._namespace = namespace
        self._timeout = timeout
        self._limits: list[tuple[str, RateLimitItem]] = [
            ("address", parse(per_address)),
            ("email", parse(per_email)),
        ]

    def _keys(self, address: str, email: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        # Case never makes two accounts in practice, so it must not make two counters.
        values = {"address": address, "email": email.strip().lower()}
        return [(item, (self._namespace, kind, values[kind])) for kind, item in self._limits]

    async def retry_after(self, address: str, email: str) -> tuple[int, str] | None:
        """Seconds until this client may try again and the limit in the way (`address` or
        `account`), or None when it may try now."""
        waits: list[tuple[float, str]] = []
        try:
            async with asyncio.timeout(self._timeout):
                for item, key in self._keys(address, email):
                    if not await self._limiter.test(item, *key):
                        stats = await self._limiter.get_window_stats(item, *key)
                        limit = "address" if key[1] == "address" else "account"
                        waits.append((stats.reset_time - time.time(), limit))
        except Exception as exc:
            log.warning("rate-limit storage failed, not limiting: %r", exc)
            return None
        if not waits:
            return None
        wait, limit = max(waits)
        return max(1, math.ceil(wait)), limit

    async def record_failure(self, address: str, email: str) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                for item, key in self._keys(address, email):
                    await self._limiter.hit(item, *key)
        except Exception as exc:
            log.warning("rate-limit storage failed, a failure not counted: %r", exc)
