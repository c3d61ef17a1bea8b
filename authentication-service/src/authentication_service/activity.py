"""Records each login with the logger service (`POST /log`); a logger outage never denies one."""

import logging

from svckit.contract import log_body
from svckit.errors import ServiceError
from svckit.http_client import Downstream, HttpClient

log = logging.getLogger(__name__)

# Logins in flight at once are bounded by the bcrypt line long before this.
CONNECTIONS = 100


class ActivityLog:
    """The logger behind the kit's HTTP client: each record waits at most its deadline, and a
    failure is logged here, never raised to the login."""

    def __init__(self, logger_url: str, timeout: float) -> None:
        self._client = HttpClient(CONNECTIONS)
        self._logger = Downstream(self._client, "logger-service", logger_url, timeout)

    async def logged_in(self, email: str) -> None:
        entry = log_body("authentication", f"{email} logged in")
        try:
            reply = await self._logger.send("POST", "/log", json_body=entry)
        except ServiceError as exc:
            log.warning("login of %s not recorded: %s", email, exc.detail or exc.message)
            return
        if reply.status != 202:
            text = reply.body[:200].decode(errors="replace")
            log.warning(
                "login of %s not recorded: logger answered %d %s", email, reply.status, text
            )

    async def close(self) -> None:
        await self._client.close()
