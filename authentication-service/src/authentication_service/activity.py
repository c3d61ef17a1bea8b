"""Records each login with the logger service (`POST /log`); a logger outage never denies one."""

import asyncio
import logging

import httpx

log = logging.getLogger(__name__)


class ActivityLog:
    """One long-lived HTTP client to the logger, each call bounded by a short deadline."""

    def __init__(self, logger_url: str, timeout: float) -> None:
        self.url = f"{logger_url}/log"
        self.timeout = timeout
        self._client = httpx.AsyncClient(timeout=timeout)

    async def logged_in(self, email: str) -> None:
        entry = {"name": "authentication", "data": f"{email} logged in"}
        try:
            # httpx's timeout bounds each phase; this bounds the whole call.
            async with asyncio.timeout(self.timeout):
                response = await self._client.post(self.url, json=entry)
        except (httpx.HTTPError, TimeoutError) as exc:
            log.warning("login of %s not recorded: logger at %s: %r", email, self.url, exc)
            return
        if response.status_code != 202:
            log.warning(
                "login of %s not recorded: logger answered %d %s",
                email,
                response.status_code,
                response.text[:200],
            )

    async def close(self) -> None:
        await self._client.aclose()
