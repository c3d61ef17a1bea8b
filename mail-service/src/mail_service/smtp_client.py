"""The SMTP server we hand mail to: a few connections, every step within a deadline.

`pooled` (the default): at most MAIL_CONNECTIONS connections, opened when needed and kept for
the next message. A kept one is reused only while it is connected with nothing to read (an idle
SMTP session is silent: anything readable means the server closed it or is closing it, as
urllib3 checks its pooled connections) and, once idle MAIL_CHECK_AFTER seconds, after it
answers NOOP; else it is closed and another taken. No message is involved in that: a server
that restarted costs a reconnect, not a failed send. A send that fails on a reused connection
before the message's content went out (MAIL, RCPT or the DATA command) is tried once more on a
fresh connection: the server took nothing, it may just have closed the session meanwhile. From
the content on, a failure is never retried: the server may have taken the message, and sending
it again could deliver it twice. Connections say QUIT after MAIL_IDLE_TIMEOUT idle, after
MAIL_MESSAGES_PER_CONNECTION messages and at shutdown; one that failed is never reused.

`per-message`: connect, send, QUIT for every message, as the Go original did.

Failures leave as the envelope's errors: refusal or unreachable → 502, no answer → 504. They
name the mail server, never its address: the address goes to the log.
"""

import asyncio
import contextlib
import logging
import select
import ssl
import time
from typing import Literal

from aiosmtplib import (
    SMTP,
    SMTPConnectError,
    SMTPException,
    SMTPNotSupported,
    SMTPRecipientsRefused,
    SMTPResponse,
    SMTPResponseException,
)
from aiosmtplib.typing import Default
from prometheus_client import Counter, Histogram
from svckit.errors import DownstreamTimeout, DownstreamUnavailable, ServiceError
from svckit.metrics import downstream_call, service
from svckit.tracing import client_span

from mail_service.settings import MailSettings

log = logging.getLogger(__name__)

SEND_TIME = Histogram(
    "mail_smtp_send_duration_seconds", "Time one mail takes to hand to the server", ["service"]
)
FAILURES = Counter(
    "mail_smtp_failures",
    "Mails the server did not take: refused, unavailable or timeout",
    ["service", "reason"],
)


def _reason(exc: ServiceError) -> str:
    if isinstance(exc, DownstreamTimeout):
        return "timeout"
    if isinstance(exc, DownstreamUnavailable):
        return "unavailable"
    return "refused"


# Seconds a QUIT may take: closing must not wait on a slow server.
QUIT_TIMEOUT = 1.0


def _mail_options(client: SMTP, sender: str, recipient: str) -> list[str]:
    """The MAIL options aiosmtplib's `send_message` would give (the mail is flattened already)."""
    options = []
    if not (sender + recipient).isascii():
        if not client.supports_extension("smtputf8"):
            raise SMTPNotSupported("an address is not ASCII and the server has no SMTPUTF8")
        options.append("SMTPUTF8")
    if client.supports_extension("8bitmime"):
        options.append("BODY=8BITMIME")
    return options


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


class MailServer:
    def __init__(self, settings: MailSettings) -> None:
        # Public messages name the mail server; where it is goes to the log only.
        self.name = "mail server"
        self._where = f"{settings.mail_host}:{settings.mail_port}"
        self._span_attributes = {
            "server.address": settings.mail_host,
            "server.port": settings.mail_port,
            "network.protocol.name": "smtp",
        }
        self._settings = settings
        self._connect_timeout = settings.mail_connect_timeout
        self._send_timeout = settings.mail_send_timeout
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
        self._ready_cache = settings.mail_ready_cache
        # The last `/ready` check (or the one in flight), and when it ended.
        self._probe: asyncio.Task[None] | None = None
        self._probed_at = 0.0

    def _client(self) -> Connection:
        s = self._settings
        return Connection(
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

    async def _open(self) -> Connection:
        """A new connection: TCP (and TLS), greeting, EHLO, STARTTLS and AUTH as configured."""
        client = self._client()
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        return client

    async def _checkout(self) -> tuple[Connection, bool]:
        """A connection for one message, and whether it is a reused one."""
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
                    log.info(
                        "%s %s: a kept connection failed NOOP: %r", self.name, self._where, exc
                    )
                    continue
            return client, True
        return await self._open(), False

    async def send(self, message: bytes, sender: str, recipient: str) -> None:
        """Hand `message` (a flat mail) to the server; `ServiceError` (502/504) if not taken.

        Traced (a CLIENT span; no instrumentation package knows SMTP), counted and timed.
        """
        with (
            client_span("smtp send", self._span_attributes),
            downstream_call(self.name, "smtp"),
            SEND_TIME.labels(service()).time(),
        ):
            try:
                await self._send(message, sender, recipient)
            except ServiceError as exc:
                FAILURES.labels(service(), _reason(exc)).inc()
                raise

    async def _send(self, message: bytes, sender: str, recipient: str) -> None:
        try:
            async with asyncio.timeout(self._connect_timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise DownstreamTimeout(self.name, self._connect_timeout) from None
        try:
            try:
                async with asyncio.timeout(self._connect_timeout):
                    if self._pooled:
                        client, reused = await self._checkout()
                    else:
                        client, reused = await self._open(), False
            except Exception as exc:
                raise self._translate(exc, self._connect_timeout) from exc
            try:
                # One deadline for the message, a retry on a fresh connection included.
                async with asyncio.timeout(self._send_timeout):
                    try:
                        await self._deliver(client, message, sender, recipient)
                    except ConnectionError as exc:
                        if not reused or client.content_started:
                            raise
                        log.info(
                            "%s %s: a kept connection dropped before the message, sending on "
                            "a fresh one: %r",
                            self.name,
                            self._where,
                            exc,
                        )
                        client.close()
                        client = await self._open()
                        await self._deliver(client, message, sender, recipient)
            except BaseException as exc:
                # The session's state is unknown after a failure: never reuse it.
                client.close()
                if isinstance(exc, Exception):
                    raise self._translate(exc, self._send_timeout) from exc
                raise
            if not self._pooled or self._closed:
                await self._quit(client)  # as the original did; the message is taken already
            elif client.sent >= self._max_messages:
                self._quit_later(client)
            else:
                self._checkin(client)
        finally:
            self._slots.release()

    async def _deliver(self, client: Connection, message: bytes, sender: str, to: str) -> None:
        client.content_started = False
        await client.sendmail(
            sender,
            [to],
            message,
            mail_options=_mail_options(client, sender, to),
            timeout=self._send_timeout,
        )
        client.sent += 1

    def _checkin(self, client: Connection) -> None:
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
        task = asyncio.create_task(self._quit(client))
        self._quitting.add(task)
        task.add_done_callback(self._quitting.discard)

    async def _quit(self, client: Connection) -> None:
        try:
            async with asyncio.timeout(QUIT_TIMEOUT):
                await client.quit()
        except (SMTPException, OSError, TimeoutError):
            log.debug("closing an SMTP connection failed", exc_info=True)
        finally:
            client.close()

    async def check(self) -> None:
        """For `/ready`: the outcome of the last check while it is younger than
        MAIL_READY_CACHE; callers meanwhile share the one in flight. The caller's deadline
        does not cancel it (the next caller waits on the same session)."""
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
                client = await self._open()
                try:
                    await client.noop()
                finally:
                    await self._quit(client)
        except Exception as exc:
            raise self._translate(exc, self._connect_timeout) from exc
        finally:
            self._probed_at = time.monotonic()

    async def close(self) -> None:
        """Say QUIT on the idle connections; sends still in flight close theirs as they end."""
        self._closed = True
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._probe
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        idle, self._idle = self._idle, []
        await asyncio.gather(*(self._quit(client) for client in idle), *self._quitting)

    def _translate(self, exc: Exception, seconds: float) -> ServiceError:
        if isinstance(exc, ServiceError):
            return exc
        if isinstance(exc, TimeoutError):
            return DownstreamTimeout(self.name, seconds)
        if isinstance(exc, SMTPRecipientsRefused) and exc.recipients:
            first = exc.recipients[0]
            return ServiceError(502, f"{self.name} refused: {first.code} {first.message}")
        if isinstance(exc, SMTPResponseException):
            return ServiceError(502, f"{self.name} refused: {exc.code} {exc.message}")
        if isinstance(exc, SMTPConnectError) and isinstance(exc.__cause__, OSError):
            cause = exc.__cause__
            return DownstreamUnavailable(
                self.name, detail=f"{cause.strerror or cause} ({self._where})"
            )
        if isinstance(exc, SMTPException | OSError):
            return DownstreamUnavailable(self.name, detail=f"{exc!r} ({self._where})")
        log.exception("unexpected failure talking to %s at %s", self.name, self._where)
        return DownstreamUnavailable(self.name)
