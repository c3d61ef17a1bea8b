"""The connections to the SMTP server: at most MAIL_CONNECTIONS at once, kept for the next
message (`pooled`, the default) or one per message (`per-message`, as the Go original did).

A kept one is reused only while it is connected with nothing to read (an idle SMTP session is
silent: anything readable means the server closed it or is closing it, as urllib3 checks its
pooled connections) and, once idle MAIL_CHECK_AFTER seconds, after it answers NOOP; else it is
closed and another taken. No message is involved in that: a server that restarted costs a
reconnect, not a failed send. Connections say QUIT after MAIL_IDLE_TIMEOUT idle, after
MAIL_MESSAGES_PER_CONNECTION messages and at shutdown; one that failed is never given back.
"""

import asyncio
import contextlib
import logging
import select
import ssl
import time
from typing import Literal

from aiosmtplib import SMTP, SMTPException, SMTPResponse
from aiosmtplib.typing import Default

from mail_service.settings import MailSettings
from mail_service.smtp_errors import SERVER

log = logging.getLogger(__name__)

# Seconds a QUIT may take: closing must not wait on a slow server.
QUIT_TIMEOUT = 1.0


class Connection(SMTP):
    """aiosmtplib's client, with what the pool needs to know about it."""

    # Messages it carried; when it was last put back; set once a message's DATA starts (from
    # then a failure may leave the message delivered).
    sent = 0
    idle_since = 0.0
    content_started = False

    async def data(
        self,
        message: str | bytes,
        /,
        *,
        timeout: float | Literal[Default.token] | None = Default.token,
    ) -> SMTPResponse:
        self.content_started = True
        return await super().data(message, timeout=timeout)

    def has_input(self) -> bool:
        # poll, not select.select (which fails for descriptors of 1024 and up): one system call.
        poller = select.poll()
        poller.register(self.get_transport_info("socket"), select.POLLIN)
        return bool(poller.poll(0))


class SmtpPool:
    def __init__(self, settings: MailSettings) -> None:
        # Where the server is, for the log only.
        self.where = f"{settings.mail_host}:{settings.mail_port}"
        self._settings = settings
        self._connect_timeout = settings.mail_connect_timeout
        self._pooled = settings.mail_connection == "pooled"
        self._idle_timeout = settings.mail_idle_timeout
        self._check_after = settings.mail_check_after
        # A NOOP that takes long means a dead peer: leave most of the deadline for a new one.
        self._probe_timeout = min(1.0, settings.mail_connect_timeout / 2)
        self._max_messages = settings.mail_messages_per_connection
        self._tls: ssl.SSLContext | None = None
        if settings.mail_encryption != "none":
            cafile = str(settings.mail_ca_file) if settings.mail_ca_file else None
            self._tls = ssl.create_default_context(cafile=cafile)
        # The most recently used last: it is the likeliest to be alive, the oldest expire.
        self._idle: list[Connection] = []
        self._slots = asyncio.Semaphore(settings.mail_connections)
        self._reaper: asyncio.Task[None] | None = None
        self._quitting: set[asyncio.Task[None]] = set()
        self._closed = False

    async def acquire(self) -> None:
        """Room for one more connection; TimeoutError if none frees within
        MAIL_CONNECT_TIMEOUT. `release` gives it back."""
        async with asyncio.timeout(self._connect_timeout):
            await self._slots.acquire()

    def release(self) -> None:
        self._slots.release()

    async def open(self) -> Connection:
        """A new connection: TCP (and TLS), greeting, EHLO, STARTTLS and AUTH as configured."""
        s = self._settings
        client = Connection(
            hostname=s.mail_host,
            port=s.mail_port,
            local_hostname=s.mail_domain,
            username=s.mail_username or None,
            password=s.mail_password.get_secret_value() or None,
            timeout=self._connect_timeout,
            use_tls=s.mail_encryption == "ssl",
            start_tls=s.mail_encryption == "tls",
            tls_context=self._tls,
        )
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        return client

    async def take(self) -> tuple[Connection, bool]:
        """A connection for one message (within a slot), and whether it is a reused one."""
        if not self._pooled:
            return await self.open(), False
        while self._idle:
            client = self._idle.pop()
            idle = time.monotonic() - client.idle_since
            if not client.is_connected or idle >= self._idle_timeout or client.has_input():
                client.close()
                continue
            if idle > self._check_after:
                try:
                    await client.noop(timeout=self._probe_timeout)
                except BaseException as exc:
                    client.close()
                    if not isinstance(exc, SMTPException | OSError):
                        raise
                    log.info("%s %s: a kept connection failed NOOP: %r", SERVER, self.where, exc)
                    continue
            return client, True
        return await self.open(), False

    async def give_back(self, client: Connection) -> None:
        """After a message it carried: kept for the next, or QUIT."""
        if not self._pooled or self._closed:
            await self.quit(client)  # as the original did; the message is taken already
        elif client.sent >= self._max_messages:
            self._quit_later(client)
        else:
            client.idle_since = time.monotonic()
            self._idle.append(client)
            if self._reaper is None:
                self._reaper = asyncio.create_task(self._reap(), name="smtp idle connections")

    async def _reap(self) -> None:
        """Say QUIT on the connections idle MAIL_IDLE_TIMEOUT (the oldest are first)."""
        while True:
            await asyncio.sleep(self._idle_timeout / 4)
            now = time.monotonic()
            while self._idle and now - self._idle[0].idle_since >= self._idle_timeout:
                self._quit_later(self._idle.pop(0))

    def _quit_later(self, client: Connection) -> None:
        # QUIT costs a round trip the caller need not wait for; close() waits for it.
        task = asyncio.create_task(self.quit(client))
        self._quitting.add(task)
        task.add_done_callback(self._quitting.discard)

    async def quit(self, client: Connection) -> None:
        try:
            async with asyncio.timeout(QUIT_TIMEOUT):
                await client.quit()
        except (SMTPException, OSError, TimeoutError):
            log.debug("closing an SMTP connection failed", exc_info=True)
        finally:
            client.close()

    async def close(self) -> None:
        """Say QUIT on the idle connections; sends still in flight close theirs as they end."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        idle, self._idle = self._idle, []
        await asyncio.gather(*(self.quit(client) for client in idle), *self._quitting)
