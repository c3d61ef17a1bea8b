"""RabbitMQ for the log events: the shared topology and the confirmed, persistent publisher.

The broker publishes with `Publisher`; the listener declares the same exchange and the
dead-letter pair with the functions here, so both sides agree on names and arguments. The
names themselves (exchange, routing keys) are the logger's contract (`svckit.contract`).
"""

import asyncio
import json
import logging
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractQueue,
    AbstractRobustConnection,
)
from aio_pika.connection import make_url

from svckit.backoff import retry_forever
from svckit.contract import LOGS_EXCHANGE
from svckit.errors import DownstreamTimeout, DownstreamUnavailable
from svckit.metrics import downstream_call

log = logging.getLogger(__name__)

# Header naming why a message was dead-lettered by one of our services.
REASON_HEADER = "x-death-reason"
# When the broker published it, in epoch milliseconds: the AMQP timestamp has whole seconds,
# too coarse for the listener's publish-to-stored lag, and an AMQP float is 32 bits.
PUBLISHED_AT_HEADER = "x-published-at-ms"
# Seconds between the robust connection's reconnect attempts after a lost connection.
RECONNECT_INTERVAL = 1.0
CONNECT_TIMEOUT = 5.0


def redact(url: str) -> str:
    """The URL without its password, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    return parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{host}").geturl()


async def connect(url: str, connection_name: str) -> AbstractRobustConnection:
    """One robust connection; it reconnects on its own once the first connect succeeded.

    Built by hand rather than with `connect_robust`, which leaves a failed first attempt's
    connection object (and its reconnect task) behind.
    """
    connection = aio_pika.RobustConnection(
        make_url(url, reconnect_interval=RECONNECT_INTERVAL),
        client_properties={"connection_name": connection_name},
    )
    try:
        await connection.connect(timeout=CONNECT_TIMEOUT)
    except BaseException:
        await connection.close()
        raise
    return connection


async def declare_logs_exchange(
    channel: AbstractChannel, name: str = LOGS_EXCHANGE
) -> AbstractExchange:
    """The original's `ExchangeDeclare(name, "topic", true, false, false, false, nil)`."""
    return await channel.declare_exchange(
        name, aio_pika.ExchangeType.TOPIC, durable=True, auto_delete=False, internal=False
    )


async def declare_dead_letters(
    channel: AbstractChannel, exchange: str, queue: str
) -> tuple[AbstractExchange, AbstractQueue]:
    """The dead-letter exchange (fanout: every dead message, whatever its key) and its queue."""
    dlx = await channel.declare_exchange(
        exchange, aio_pika.ExchangeType.FANOUT, durable=True, auto_delete=False
    )
    dead = await channel.declare_queue(queue, durable=True)
    await dead.bind(dlx)
    return dlx, dead


async def publish_confirmed(
    exchange: AbstractExchange, message: aio_pika.Message, routing_key: str, timeout: float
) -> None:
    """Publish `mandatory` and wait for the broker's confirm; failures become 502/504 errors.

    The exchange's channel must be opened with `publisher_confirms=True, on_return_raises=True`.
    """
    try:
        await asyncio.wait_for(exchange.publish(message, routing_key, mandatory=True), timeout)
    except TimeoutError:
        raise DownstreamTimeout("rabbitmq", timeout) from None
    except aiormq.exceptions.PublishError:
        raise DownstreamUnavailable(
            "rabbitmq",
            f"no queue is bound to {routing_key}",
            detail=f"returned unroutable from exchange {exchange.name!r}",
        ) from None
    except aiormq.exceptions.DeliveryError:
        raise DownstreamUnavailable("rabbitmq", "the broker refused the message (nack)") from None
    except aiormq.exceptions.ChannelClosed as exc:
        log.warning("publish to %s failed: %r", exchange.name, exc)
        raise DownstreamUnavailable("rabbitmq", "the channel was closed") from None
    except (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
        raise DownstreamUnavailable("rabbitmq", detail=repr(exc)) from None


def json_message(body: dict[str, Any], message_id: str) -> aio_pika.Message:
    now = time.time()
    return aio_pika.Message(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
        timestamp=datetime.fromtimestamp(now, UTC),
        headers={PUBLISHED_AT_HEADER: round(now * 1000)},
    )


class Publisher:
    """Confirmed, persistent, mandatory publishes to a topic exchange over one robust connection.

    `start()` returns at once; the first connect is retried with back-off in the background,
    and `publish` answers 502 until it succeeds. After that the connection recovers by itself.
    """

    def __init__(
        self,
        url: str,
        exchange: str = LOGS_EXCHANGE,
        *,
        confirm_timeout: float = 5.0,
        connection_name: str | None = None,
    ) -> None:
        self.url = url
        self.exchange_name = exchange
        self.confirm_timeout = confirm_timeout
        self.connection_name = connection_name or f"publisher-{os.getpid()}"
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._starting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._starting is None:
            self._starting = asyncio.create_task(
                retry_forever(f"rabbitmq at {redact(self.url)}", self._connect)
            )

    async def _connect(self) -> None:
        connection = await connect(self.url, self.connection_name)
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await declare_logs_exchange(channel, self.exchange_name)
        except BaseException:
            await connection.close()
            raise
        self._connection, self._channel, self._exchange = connection, channel, exchange
        log.info("publishing to exchange %s on %s", self.exchange_name, redact(self.url))

    @property
    def connected(self) -> bool:
        return (
            self._connection is not None
            and self._channel is not None
            and self._connection.connected.is_set()
            and not self._channel.is_closed
        )

    async def check(self) -> None:
        """For `/ready`: raises while the connection is down."""
        if not self.connected:
            raise ConnectionError(f"not connected to rabbitmq at {redact(self.url)}")

    async def publish(
        self, routing_key: str, body: dict[str, Any], *, message_id: str | None = None
    ) -> str:
        """Publish `body` as JSON; returns the message id once RabbitMQ confirmed it."""
        if self._exchange is None or not self.connected:
            raise DownstreamUnavailable("rabbitmq", detail="not connected yet or any more")
        message_id = message_id or str(uuid.uuid4())
        with downstream_call("rabbitmq", "amqp"):
            await publish_confirmed(
                self._exchange, json_message(body, message_id), routing_key, self.confirm_timeout
            )
        return message_id

    async def close(self) -> None:
        if self._starting is not None:
            self._starting.cancel()
            await asyncio.gather(self._starting, return_exceptions=True)
            self._starting = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = self._channel = self._exchange = None
