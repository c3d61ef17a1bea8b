"""Records each login with the logger service (`POST /log`); a logger outage never denies one."""

import logging

import aiohttp
from svckit.contract import log_body
from svckit.metrics import downstream_call

log = logging.getLogger(__name__)


class ActivityLog:
    """One long-lived HTTP client to the logger, each call bounded by a short deadline.

    aiohttp, as the broker and the listener use: httpx's pool costs several times its CPU.
    """

    def __init__(self, logger_url: str, timeout: float) -> None:
        self.url = f"{logger_url.rstrip('/')}/log"
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    async def logged_in(self, email: str) -> None:
        entry = log_body("authentication", f"{email} logged in")
        try:
            with downstream_call("logger-service", "http") as call:
                async with self._client.post(self.url, json=entry) as response:
                    status = response.status
                    text = await response.text(errors="replace")
                if status != 202:
                    call.failed()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("login of %s not recorded: logger at %s: %r", email, self.url, exc)
            return
        if status != 202:
            log.warning(
                "login of %s not recorded: logger answered %d %s", email, status, text[:200]
            )

    async def close(self) -> None:
        await self._client.close()
