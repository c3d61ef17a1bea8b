"""The SMTP server we hand mail to: a few reused connections, every step within a deadline.

A connection is reused only after a send that succeeded, and only while its socket has nothing
to read: an idle SMTP session is silent, so anything readable means the server closed it or is
closing it (as urllib3 checks its pooled connections). That costs a reconnect, not a failed send.
Failures leave as the envelope's errors: refusal or unreachable → 502, no answer → 504. They
name the mail server, never its address: the address goes to the log.
"""

import asyncio
import logging
import selectors
import ssl
from email.message import Message

from aiosmtplib import (
    SMTP,
    SMTPConnectError,
    SMTPException,
    SMTPRecipientsRefused,
    SMTPResponseException,
)
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


def _has_input(client: SMTP) -> bool:
    # A selector, not select.select, which fails for descriptors of 1024 and up.
    with selectors.DefaultSelector() as selector:
        selector.register(client.get_transport_info("socket"), selectors.EVENT_READ)
        return bool(selector.select(timeout=0))


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
        self._tls: ssl.SSLContext | None = None
        if settings.mail_encryption != "none":
            cafile = str(settings.mail_ca_file) if settings.mail_ca_file else None
            self._tls = ssl.create_default_context(cafile=cafile)
        self._idle: list[SMTP] = []
        self._slots = asyncio.Semaphore(settings.mail_connections)

    def _client(self) -> SMTP:
        s = self._settings
        return SMTP(
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

    async def _open(self) -> SMTP:
        """A new connection: TCP (and TLS), greeting, EHLO, STARTTLS and AUTH as configured."""
        client = self._client()
        await client.connect()
        return client

    async def _checkout(self) -> SMTP:
        while self._idle:
            client = self._idle.pop()
            if client.is_connected and not _has_input(client):
                return client
            client.close()
        return await self._open()

    async def send(self, message: Message, sender: str, recipient: str) -> None:
        """Hand `message` to the server; raises `ServiceError` (502/504) when it is not taken.

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

    async def _send(self, message: Message, sender: str, recipient: str) -> None:
        try:
            async with asyncio.timeout(self._connect_timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise DownstreamTimeout(self.name, self._connect_timeout) from None
        try:
            try:
                async with asyncio.timeout(self._connect_timeout):
                    client = await self._checkout()
            except Exception as exc:
                raise self._translate(exc, self._connect_timeout) from exc
            try:
                async with asyncio.timeout(self._send_timeout):
                    await client.send_message(
                        message, sender=sender, recipients=[recipient], timeout=self._send_timeout
                    )
            except BaseException as exc:
                # The session's state is unknown after a failure: never reuse it.
                client.close()
                if isinstance(exc, Exception):
                    raise self._translate(exc, self._send_timeout) from exc
                raise
            self._idle.append(client)
        finally:
            self._slots.release()

    async def check(self) -> None:
        """For `/ready`: a fresh connection answers NOOP, then we say QUIT."""
        try:
            client = await self._open()
            try:
                await client.noop()
                await client.quit()
            finally:
                client.close()
        except Exception as exc:
            raise self._translate(exc, self._connect_timeout) from exc

    async def close(self) -> None:
        """Say QUIT on the idle connections (briefly: shutdown must not wait on a slow server)."""
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                async with asyncio.timeout(1.0):
                    await client.quit()
            except (SMTPException, OSError, TimeoutError):
                log.debug("closing an idle SMTP connection failed", exc_info=True)
            finally:
                client.close()

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
