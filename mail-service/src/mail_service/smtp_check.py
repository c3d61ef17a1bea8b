"""`/ready`'s check of the SMTP server: a fresh session answers NOOP, its outcome believed for
MAIL_READY_CACHE seconds, so probes hammering `/ready` do not hammer the server."""

import asyncio
import contextlib
import time

from mail_service import smtp_errors
from mail_service.settings import MailSettings
from mail_service.smtp_pool import SmtpPool


class SmtpCheck:
    def __init__(self, pool: SmtpPool, settings: MailSettings) -> None:
        self._pool = pool
        self._connect_timeout = settings.mail_connect_timeout
        self._ready_cache = settings.mail_ready_cache
        # The last check (or the one in flight), and when it ended.
        self._probe: asyncio.Task[None] | None = None
        self._probed_at = 0.0

    async def check(self) -> None:
        """The outcome of the last check while it is younger than MAIL_READY_CACHE; callers
        meanwhile share the one in flight. The caller's deadline does not cancel it (the next
        caller waits on the same session)."""
        probe = self._probe
        if probe is None or (
            probe.done() and time.monotonic() - self._probed_at >= self._ready_cache
        ):
            probe = self._probe = asyncio.create_task(self._check(), name="smtp ready check")
            # Its failure is read by whoever awaits it; none may (their deadline passed).
            probe.add_done_callback(lambda task: task.cancelled() or task.exception())
        await asyncio.shield(probe)

    async def _check(self) -> None:
        """A fresh connection answers NOOP, then we say QUIT (within MAIL_CONNECT_TIMEOUT)."""
        try:
            async with asyncio.timeout(self._connect_timeout):
                client = await self._pool.open()
                try:
                    await client.noop()
                finally:
                    await self._pool.quit(client)
        except Exception as exc:
            raise smtp_errors.translate(exc, self._connect_timeout, self._pool.where) from exc
        finally:
            self._probed_at = time.monotonic()

    async def close(self) -> None:
        """Stops a check in flight."""
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._probe
