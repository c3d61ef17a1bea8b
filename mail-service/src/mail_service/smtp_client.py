"""The SMTP server we hand mail to: a few reused connections, every step within a deadline.

A connection is reused only after a send that succeeded, and only while its socket has nothing
to read: an idle SMTP session is silent, so anything readable means the server closed it or is
closing it (as urllib3 checks its pooled connections). That costs a reconnect, not a failed send.
Failures leave as the envelope's errors: refusal or unreachable → 502, no answer → 504. They
name the mail server, never its address: the address goes to the log.
"""

import asyncio
import logging
import os
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
from svckit.errors import DownstreamTimeout, DownstreamUnavailable, ServiceError

from mail_service.settings import MailSettings

log = logging.getLogger(__name__)


def _has_input(client: SMTP) -> bool:
    # A selector, not select.select, which fails for descriptors of 1024 and up.
    with selectors.DefaultSelector() as selector:
        selector.register(client.get_transport_info("socket"), selectors.EVENT_READ)
        return bool(selector.select(timeout=0))


class MailServer:
    def __init__(self, settings: MailSettings) -> None:
        self.name = "mail server"
        self._address = f"{settings.mail_host}:{settings.mail_port}"
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
        """Hand `message` to the server; raises `ServiceError` (502/504) when it is not taken."""
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
        log.warning("mail server %s: %r", self._address, exc)
        if isinstance(exc, TimeoutError):
            return DownstreamTimeout(self.name, seconds)
        if isinstance(exc, SMTPRecipientsRefused) and exc.recipients:
            first = exc.recipients[0]
            return ServiceError(502, f"{self.name} refused: {first.code} {first.message}")
        if isinstance(exc, SMTPResponseException):
            return ServiceError(502, f"{self.name} refused: {exc.code} {exc.message}")
        if isinstance(exc, SMTPConnectError) and isinstance(exc.__cause__, OSError):
            return DownstreamUnavailable(self.name, _reason(exc.__cause__))
        if isinstance(exc, SMTPException):
            return DownstreamUnavailable(self.name, exc.message)
        if isinstance(exc, OSError):
            return DownstreamUnavailable(self.name, _reason(exc))
        log.exception("unexpected failure talking to the mail server at %s", self._address)
        return DownstreamUnavailable(self.name, type(exc).__name__)


def _reason(exc: OSError) -> str:
    """`Connection refused`, `certificate verify failed: ...`: what went wrong, without the
    address asyncio's own text carries."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or type(exc).__name__}"
    return os.strerror(exc.errno) if exc.errno else type(exc).__name__
