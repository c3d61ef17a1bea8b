"""Wait for a dependency at start-up: retry with capped exponential back-off, logging each miss."""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


async def retry_forever(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    *,
    first_delay: float = 0.2,
    max_delay: float = 5.0,
) -> T:
    """Call `attempt` until it succeeds; cancellation (shutdown) ends the wait."""
    delay = first_delay
    tries = 0
    while True:
        tries += 1
        try:
            return await attempt()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("waiting for %s (try %d, next in %.1f s): %s", what, tries, delay, exc)
        await asyncio.sleep(delay * (0.5 + random.random() / 2))
        delay = min(delay * 2, max_delay)
