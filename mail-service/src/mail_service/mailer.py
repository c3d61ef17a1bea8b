"""Hands a mail to the SMTP server over a connection of the pool, within a deadline, traced,
timed and counted.

A send that fails on a reused connection before the message's content went out (MAIL, RCPT or
the DATA command) is tried once more on a fresh connection: the server took nothing, it may
just have closed the session meanwhile. From the content on, a failure is never retried: the
server may have taken the message, and sending it again could deliver it twice.
"""

import asyncio
import logging

from aiosmtplib import SMTPNotSupported
from prometheus_client import Counter, Histogram
from svckit.errors import ServiceError
from svckit.metrics import downstream_call, service
from svckit.tracing import client_span

from mail_service import smtp_errors
from mail_service.settings import MailSettings
from mail_service.smtp_errors import SERVER
from mail_service.smtp_pool import Connection, SmtpPool

log = logging.getLogger(__name__)

SEND_TIME = Histogram(
    "mail_smtp_send_duration_seconds", "Time one mail takes to hand to the server", ["service"]
)
FAILURES = Counter(
    "mail_smtp_failures",
    "Mails the server did not take: refused, unavailable or timeout",
    ["service", "reason"],
)


def _mail_options(client: Connection, sender: str, recipient: str) -> list[str]:
    """The MAIL options aiosmtplib's `send_message` would give (the mail is flattened already)."""
    options = []
    if not (sender + recipient).isascii():
        if not client.supports_extension("smtputf8"):
            raise SMTPNotSupported("an address is not ASCII and the server has no SMTPUTF8")
        options.append("SMTPUTF8")
    if client.supports_extension("8bitmime"):
        options.append("BODY=8BITMIME")
    return options


class Mailer:
    def __init__(self, pool: SmtpPool, settings: MailSettings) -> None:
        self._pool = pool
        self._connect_timeout = settings.mail_connect_timeout
        self._send_timeout = settings.mail_send_timeout
        self._span_attributes = {
            "server.address": settings.mail_host,
            "server.port": settings.mail_port,
            "network.protocol.name": "smtp",
        }

    async def send(self, message: bytes, sender: str, recipient: str) -> None:
        """Hand `message` (a flat mail) to the server; `ServiceError` (502/504) if not taken.

        Traced (a CLIENT span; no instrumentation package knows SMTP), counted and timed.
        """
        with (
            client_span("smtp send", self._span_attributes),
            downstream_call(SERVER, "smtp"),
            SEND_TIME.labels(service()).time(),
        ):
            try:
                await self._send(message, sender, recipient)
            except ServiceError as exc:
                FAILURES.labels(service(), smtp_errors.reason(exc)).inc()
                raise

    async def _send(self, message: bytes, sender: str, recipient: str) -> None:
        try:
            await self._pool.acquire()
        except TimeoutError as exc:
            raise smtp_errors.translate(exc, self._connect_timeout, self._pool.where) from None
        try:
            await self._carry(message, sender, recipient)
        finally:
            self._pool.release()

    async def _carry(self, message: bytes, sender: str, recipient: str) -> None:
        pool = self._pool
        try:
            async with asyncio.timeout(self._connect_timeout):
                client, reused = await pool.take()
        except Exception as exc:
            raise smtp_errors.translate(exc, self._connect_timeout, pool.where) from exc
        try:
            # One deadline for the message, a retry on a fresh connection included.
            async with asyncio.timeout(self._send_timeout):
                try:
                    await self._deliver(client, message, sender, recipient)
                except ConnectionError as exc:
                    if not reused or client.content_started:
                        raise
                    log.info(
                        "%s %s: a kept connection dropped before the message, sending on a "
                        "fresh one: %r",
                        SERVER,
                        pool.where,
                        exc,
                    )
                    client.close()
                    client = await pool.open()
                    await self._deliver(client, message, sender, recipient)
        except BaseException as exc:
            # The session's state is unknown after a failure: never reuse it.
            client.close()
            if isinstance(exc, Exception):
                raise smtp_errors.translate(exc, self._send_timeout, pool.where) from exc
            raise
        await pool.give_back(client)

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
