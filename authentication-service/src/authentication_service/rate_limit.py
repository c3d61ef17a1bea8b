"""Failed logins counted with `limits` (a moving window), so guessing is bounded per client
and no client can keep an account from its owner.

- per client address (an IPv6 client counts as its /64, the block one subscriber gets):
  over the limit, that address gets 429 for any account;
- per client address and account: over it, that address gets 429 for that account;
- per account, from all addresses together: over it, every attempt at the account waits a
  short, bounded delay before it is answered; it is never refused. The settings make sure
  one address alone cannot get an account there (its own limit stops it first).

An attempt reserves its place before any work (a count of attempts in flight next to each
window), so a burst from one address gets at most the limit's worth of bcrypt checks and
429 for the rest at once. A failure is then recorded in the windows; a success, or an
attempt that ended without an answer on the password, gives its place back. The storage is
this process's memory by default, or Redis so that replicas share the counts. When the
storage fails, the login goes ahead unlimited (and the failure is logged): the limiter never
denies a login.
"""

import asyncio
import ipaddress
import logging
import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

log = logging.getLogger(__name__)

# How long a count of attempts in flight outlives its last change: far longer than one
# attempt can take, so it only matters when a process died mid-attempt (with Redis).
_IN_FLIGHT_TTL = 300

# The limits an attempt must be under, in the order they are checked; the account's is a delay.
REFUSING = ("address", "address_and_account")


def async_storage_url(url: str) -> str:
    """`memory://` or `redis://...` as the setting says, in the async form `limits` wants."""
    return url if url.startswith("async+") else f"async+{url}"


def client_of(address: str) -> str:
    """Whom an address is counted as: an IPv4 address as it is, an IPv6 one as its /64 (one
    subscriber usually has the whole block), an IPv4-mapped IPv6 one as its IPv4 address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass
class Attempt:
    """One login's standing with the limiter: refused (`wait` seconds, the `limit` in the way),
    or let through after `delay` seconds, holding its `reserved` places until it ends."""

    keys: dict[str, tuple[str, ...]]
    refused: tuple[int, str] | None = None
    delay: float = 0.0
    reserved: list[str] = field(default_factory=list)


class FailureLimiter:
    def __init__(
        self,
        storage_url: str,
        *,
        per_address: RateLimitItem,
        per_address_and_account: RateLimitItem,
        per_account: RateLimitItem,
        account_delay: float,
        namespace: str,
        timeout: float,
    ) -> None:
        storage = storage_from_string(async_storage_url(storage_url))
        assert isinstance(storage, Storage)
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._namespace = namespace
        self._timeout = timeout
        self._account_delay = account_delay
        self._items = {
            "address": per_address,
            "address_and_account": per_address_and_account,
            "account": per_account,
        }

    def _keys(self, address: str, email: str) -> dict[str, tuple[str, ...]]:
        client = client_of(address)
        # Case never makes two accounts in practice, so it must not make two counters.
        account = email.strip().lower()
        ns = self._namespace
        return {
            "address": (ns, "address", client),
            "address_and_account": (ns, "address-account", client, account),
            "account": (ns, "account", account),
        }

    def _in_flight(self, kind: str, key: tuple[str, ...]) -> str:
        return self._items[kind].key_for(*key, "in-flight")

    async def begin(self, address: str, email: str) -> Attempt:
        """Reserve this attempt's place under each limit, or say which one is in the way."""
        attempt = Attempt(self._keys(address, email))
        try:
            async with asyncio.timeout(self._timeout):
                await self._reserve(attempt)
        except Exception as exc:
            log.warning("rate-limit storage failed, not limiting: %r", exc)
            attempt.refused, attempt.delay = None, 0.0
        if attempt.refused is not None:
            await self.end(attempt, failed=False)
        return attempt

    async def _reserve(self, attempt: Attempt) -> None:
        for kind in REFUSING:
            item, key = self._items[kind], attempt.keys[kind]
            counter = self._in_flight(kind, key)
            # Atomic in either storage: concurrent attempts each see their own number. (A count
            # that lapsed while attempts were in flight ends below zero: hence at least 1.)
            in_flight = await self.storage.incr(counter, _IN_FLIGHT_TTL, 1)
            attempt.reserved.append(counter)
            if not await self._limiter.test(item, *key, cost=max(1, in_flight)):
                stats = await self._limiter.get_window_stats(item, *key)
                attempt.refused = (max(1, math.ceil(stats.reset_time - time.time())), kind)
                return
        account = self._items["account"]
        if not await self._limiter.test(account, *attempt.keys["account"]):
            attempt.delay = self._account_delay

    async def end(self, attempt: Attempt, *, failed: bool) -> None:
        """Record a failure in every window, then give back the places the attempt held."""
        reserved, attempt.reserved = attempt.reserved, []
        try:
            async with asyncio.timeout(self._timeout):
                if failed:
                    for kind, item in self._items.items():
                        await self._limiter.hit(item, *attempt.keys[kind])
                for counter in reserved:
                    await self.storage.incr(counter, _IN_FLIGHT_TTL, -1)
        except Exception as exc:
            log.warning("rate-limit storage failed, a failure not counted: %r", exc)
