"""The queue consumer: each event forwarded to the logger, acknowledged only once it is stored.

Fate of a message (the README says the same):
- the logger answered 202 → ack;
- the body is not a JSON object, or the logger answered 4xx → dead-letter at once;
- the logger answered 500 (or another 5xx but 502/503/504) or did not answer in time → back
  off, then requeue; the quorum queue counts the delivery, and the one that reaches
  `max_deliveries` is dead-lettered;
- the logger is unavailable (connection refused, or 502/503/504: its store is away) → the
  message is held and retried in place with capped back-off for as long as the outage lasts;
  it spends no delivery, and the rest wait in the queue.
Dead-lettered messages carry the reason in the `x-death-reason` header.
"""

import asyncio
import json
import logging
import uuid
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from svckit import amqp
from svckit.backoff import retry_forever
from svckit.errors import ServiceError

from listener_service.logger_client import LoggerClient, Verdict
from listener_service.settings import ListenerSettings

log = logging.getLogger(__name__)

# Quorum queues count every delivery in this header (absent on the first one).
DELIVERY_COUNT = "x-delivery-count"


class Poison(Exception):
    """A message no logger can ever accept."""


def log_entry(message: AbstractIncomingMessage) -> dict[str, Any]:
    """The `POST /log` body for a message: its `name` and `data`, and its id as `event_id`."""
    try:
        body = json.loads(message.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Poison(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise Poison("the body is not a JSON object")
    entry = {"name": body.get("name"), "data": body.get("data")}
    # A publisher without message ids (the original Go broker) gets at-least-once, not exactly-once.
    if message.message_id:
        entry["event_id"] = message.message_id
    return entry


def delivery_number(message: AbstractIncomingMessage) -> int:
    """1 for the first delivery; the quorum queue's count of earlier ones plus one after that."""
    count = message.headers.get(DELIVERY_COUNT)
    return 1 + count if isinstance(count, int) else 1


def queue_arguments(settings: ListenerSettings) -> dict[str, Any]:
    return {
        # Replicated, fsynced, and it counts deliveries, which the retry limit rests on.
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": settings.dead_exchange,
        # A safety net for a message that crashes the listener itself again and again.
        "x-delivery-limit": settings.max_deliveries,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


class Listener:
    """One robust connection: a consuming channel and a channel for dead-letter publishes."""

    def __init__(self, settings: ListenerSettings, logger: LoggerClient) -> None:
        self.settings = settings
        self.logger = logger
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._dead: AbstractExchange | None = None
        self._starting: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._logger_down = False

    async def start(self) -> None:
        """Returns at once; RabbitMQ is waited for with back-off in the background."""
        self._starting = asyncio.create_task(
            retry_forever(f"rabbitmq at {amqp.redact(self.settings.rabbit_url)}", self._connect)
        )

    async def _connect(self) -> None:
        s = self.settings
        connection = await amqp.connect(s.rabbit_url, "listener-service")
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=s.prefetch)
            logs = await amqp.declare_logs_exchange(channel, s.exchange)
            await amqp.declare_dead_letters(channel, s.dead_exchange, s.dead_queue)
            queue = await channel.declare_queue(s.queue, durable=True, arguments=queue_arguments(s))
            for key in amqp.LOG_ROUTING_KEYS:
                await queue.bind(logs, key)
            # Its own channel, so a failed dead-letter publish never closes the consuming one.
            publishing = await connection.channel(publisher_confirms=True, on_return_raises=True)
            # Set before consuming: the first deliveries may need it before consume() returns.
            self._dead = await publishing.get_exchange(s.dead_exchange, ensure=False)
            tag = await queue.consume(self._on_message)
        except BaseException:
            await connection.close()
            raise
        self._connection, self._channel, self._queue = connection, channel, queue
        self._consumer_tag = tag
        log.info(
            "consuming %s (bound to %s on %s), forwarding to %s",
            s.queue,
            ", ".join(amqp.LOG_ROUTING_KEYS),
            s.exchange,
            s.logger_url,
        )

    async def check(self) -> None:
        """For `/ready`: connected to RabbitMQ and consuming."""
        if (
            self._connection is None
            or self._channel is None
            or self._consumer_tag is None
            or not self._connection.connected.is_set()
            or self._channel.is_closed
        ):
            raise ConnectionError(f"not consuming {self.settings.queue}")

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            await self._handle(message)
        finally:
            self._in_flight.discard(task)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        s = self.settings
        deliveries = delivery_number(message)
        try:
            entry = log_entry(message)
        except Poison as exc:
            await self._dead_letter(message, str(exc), deliveries)
            return
        delay = s.retry_delay
        while True:
            answer = await self.logger.write(entry)
            if answer.verdict is Verdict.STORED:
                if self._logger_down:
                    self._logger_down = False
                    log.info("the logger at %s answers again", s.logger_url)
                await self._settle(message.ack())
                return
            if answer.verdict is Verdict.REFUSED:
                await self._dead_letter(
                    message, f"the logger refused it: {answer.detail}", deliveries
                )
                return
            if answer.verdict is Verdict.UNAVAILABLE:
                if not self._logger_down:
                    self._logger_down = True
                    log.warning("the logger is unavailable (%s); holding events", answer.detail)
                if await self._pause(delay):
                    await self._settle(message.nack(requeue=True))
                    return
                delay = min(delay * 2, s.retry_max_delay)
                continue
            if deliveries >= s.max_deliveries:
                reason = f"the logger failed {deliveries} deliveries, last: {answer.detail}"
                await self._dead_letter(message, reason, deliveries)
                return
            log.warning(
                "forwarding %s failed on delivery %d of %d: %s",
                message.message_id,
                deliveries,
                s.max_deliveries,
                answer.detail,
            )
            # Later deliveries wait longer, so a sick logger is not hammered.
            await self._pause(min(s.retry_delay * 2 ** (deliveries - 1), s.retry_max_delay))
            await self._settle(message.nack(requeue=True))
            return

    async def _pause(self, seconds: float) -> bool:
        """Sleep, cut short by shutdown; True when shutting down."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _settle(self, settling: Any) -> None:
        """Ack or nack; on a lost channel the broker redelivers, which idempotency absorbs."""
        try:
            await settling
        except (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            log.warning("could not settle a message (it will be redelivered): %s", exc)

    async def _dead_letter(
        self, message: AbstractIncomingMessage, reason: str, deliveries: int
    ) -> None:
        """Publish a copy to the dead-letter exchange with the reason, then ack the original."""
        assert self._dead is not None
        headers = dict(message.headers)
        headers.update(
            {
                amqp.REASON_HEADER: reason,
                "x-original-exchange": message.exchange or "",
                "x-original-routing-key": message.routing_key or "",
                "x-deliveries": deliveries,
            }
        )
        copy = aio_pika.Message(
            message.body,
            headers=headers,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            # Returns are matched by message id, so a copy needs one even if the original had none.
            message_id=message.message_id or str(uuid.uuid4()),
            timestamp=message.timestamp,
        )
        try:
            await amqp.publish_confirmed(
                self._dead, copy, message.routing_key or "", self.settings.confirm_timeout
            )
        except ServiceError as exc:
            log.error("could not dead-letter %s (requeued): %s", message.message_id, exc.message)
            await self._pause(self.settings.retry_delay)
            await self._settle(message.nack(requeue=True))
            return
        log.warning(
            "dead-lettered %s to %s: %s", message.message_id, self.settings.dead_exchange, reason
        )
        await self._settle(message.ack())

    async def stop(self, grace: float) -> None:
        """Stop consuming, let in-flight messages finish (and be acked), then close."""
        self._stopping.set()
        if self._starting is not None:
            self._starting.cancel()
            await asyncio.gather(self._starting, return_exceptions=True)
        if self._queue is not None and self._consumer_tag is not None:
            try:
                await asyncio.wait_for(self._queue.cancel(self._consumer_tag), 2)
            except (TimeoutError, aiormq.exceptions.AMQPError, RuntimeError) as exc:
                log.warning("could not cancel the consumer: %s", exc)
        if self._in_flight:
            log.info("finishing %d in-flight messages", len(self._in_flight))
            _, late = await asyncio.wait(self._in_flight, timeout=grace)
            if late:
                log.warning("%d messages were not finished; RabbitMQ redelivers them", len(late))
        if self._connection is not None:
            await self._connection.close()
        log.info("stopped consuming %s", self.settings.queue)
