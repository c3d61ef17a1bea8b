"""The queue consumer: each event forwarded to the logger, acknowledged only once it is stored.

Deliveries waiting while a forward is in flight go together in the next (`POST /logs`, at
most `BATCH_MAX`; a lone one goes at once by `POST /log`, no timer); each message still meets
its own fate by its own entry's answer.

Fate of a message (the README says the same):
- the logger answered 202 → ack;
- the body is not a JSON object, or the logger answered 4xx → dead-letter at once;
- the logger failed on this message (500, or no answer twice while it answers `/ping`) → back
  off, then a copy carrying the failure count goes back to the queue and the original is acked;
  the try that reaches `max_deliveries` failures is dead-lettered;
- the logger is unavailable (refused, 502/503/504, or silent on `/ping` too) → the message is
  held and retried in place with capped back-off for as long as the outage lasts; it spends
  nothing, and the rest wait in the queue.
Dead-lettered messages carry the reason in the `x-death-reason` header.

No message's handling raises out of the consumer: a body over `max_message_size`, JSON that
is invalid, not UTF-8 or nested too deep, and any error nothing here foresaw dead-letter the
message with its reason; should even that publish fail, the message is rejected without
requeue and RabbitMQ's own dead-lettering (the queue's `x-dead-letter-exchange`) takes it.

Why the listener counts failures itself: RabbitMQ 3.10's quorum queues add one to a message's
`x-delivery-count` on every return, a nack with requeue as much as the unacked messages of a
channel or connection that closed, and `x-delivery-limit` dead-letters on that count. A
listener restarted a few times during a logger outage would then dead-letter every event it
held, though none of them ever failed. So the queue has no delivery limit, and the budget is
spent only where a failure is the message's own.
"""

import asyncio
import logging
import time
import uuid
from typing import Any

import aio_pika
import aiormq
import orjson
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from opentelemetry import propagate
from svckit import amqp
from svckit.backoff import retry_forever
from svckit.batching import GroupCommit
from svckit.contract import log_body
from svckit.errors import ServiceError

from listener_service import metrics
from listener_service.logger_client import Answer, LoggerClient, Verdict
from listener_service.settings import ListenerSettings

log = logging.getLogger(__name__)

# Failures of the logger on this message so far, on the copy that goes back to the queue.
FAILURES_HEADER = "x-listener-failures"
# RabbitMQ's count of returns: it describes the original, not a copy.
DELIVERY_COUNT = "x-delivery-count"
ORIGINAL_EXCHANGE = "x-original-exchange"
ORIGINAL_ROUTING_KEY = "x-original-routing-key"
# An AMQP short string (a routing key) holds at most 255 bytes.
SHORTSTR_MAX = 255
# Longest `x-death-reason` we write (an exception's text may be anything).
REASON_MAX = 1000


class Poison(Exception):
    """A message no logger can ever accept; `kind` labels the dead-letter metric."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind


def log_entry(message: AbstractIncomingMessage, max_size: int) -> dict[str, Any]:
    """The `POST /log` body for a message: its `name` and `data`, and its id as `event_id`."""
    if len(message.body) > max_size:
        raise Poison(
            f"the body is {len(message.body)} bytes, more than MAX_MESSAGE_SIZE ({max_size})",
            "too_large",
        )
    try:
        # orjson, not json: it refuses nesting deeper than 1024 where json recurses until
        # RecursionError, and it refuses bytes that are not UTF-8.
        body = orjson.loads(message.body)
    except orjson.JSONDecodeError as exc:
        raise Poison(f"the body is not valid JSON: {exc}", "not_json") from None
    if not isinstance(body, dict):
        raise Poison("the body is not a JSON object", "not_json")
    # A publisher without message ids (the original Go broker) gets at-least-once, not exactly-once.
    return log_body(body.get("name"), body.get("data"), message.message_id or None)


def encoded(entry: dict[str, Any]) -> bytes:
    """The entry as JSON, each on its own: one that cannot be encoded fails alone, not the
    batch it would have gone in."""
    try:
        return orjson.dumps(entry)
    except orjson.JSONEncodeError as exc:
        # orjson encodes at most 254 levels; the logger takes only strings there anyway.
        raise Poison(f"the body cannot be forwarded: {exc}", "not_json") from None


def shortstr(text: str) -> str:
    """At most `SHORTSTR_MAX` bytes of UTF-8, cut at a character's boundary."""
    return text.encode()[:SHORTSTR_MAX].decode(errors="ignore")


def failures_so_far(message: AbstractIncomingMessage) -> int:
    """How often the logger failed on this message before (0 on its first try)."""
    count = message.headers.get(FAILURES_HEADER)
    return count if isinstance(count, int) and count > 0 else 0


def origin(message: AbstractIncomingMessage) -> dict[str, str]:
    """Where the message was first published: kept on every copy (a retried copy comes back
    through the default exchange, keyed by the queue's name). A header of another type than a
    string is not ours, so the delivery's own exchange and key stand instead."""
    exchange = message.headers.get(ORIGINAL_EXCHANGE)
    key = message.headers.get(ORIGINAL_ROUTING_KEY)
    return {
        ORIGINAL_EXCHANGE: exchange if isinstance(exchange, str) else message.exchange or "",
        ORIGINAL_ROUTING_KEY: key if isinstance(key, str) else message.routing_key or "",
    }


def queue_arguments(settings: ListenerSettings) -> dict[str, Any]:
    # No `x-delivery-limit`: it counts returns, not failures (see the module's docstring).
    return {
        # Replicated and fsynced.
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": settings.dead_exchange,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


class Held:
    """The deliveries this listener holds (handed to it, not yet settled), each with when its
    handling last moved: what the unacked gauge and the stuck check of `/ready` read."""

    def __init__(self) -> None:
        self._moved: dict[int, tuple[AbstractIncomingMessage, float]] = {}

    def moved(self, message: AbstractIncomingMessage) -> None:
        self._moved[id(message)] = (message, time.monotonic())

    def ended(self, message: AbstractIncomingMessage) -> None:
        """Its handler is done: settled, or its channel is gone (RabbitMQ took it back). One
        left unsettled on a live channel stays counted, and shows as stuck."""
        if message.processed or _channel_gone(message):
            self._moved.pop(id(message), None)
        else:
            log.error("message %s was left unacknowledged", message.message_id)

    def count(self) -> int:
        self._forget_returned()
        return len(self._moved)

    def unmoved(self, seconds: float) -> tuple[int, float]:
        """How many have not moved for `seconds`, and for how long the oldest has not."""
        self._forget_returned()
        now = time.monotonic()
        ages = [now - moved for _, moved in self._moved.values() if now - moved >= seconds]
        return len(ages), max(ages, default=0.0)

    def _forget_returned(self) -> None:
        # A closed channel's unacked deliveries went back to the queue.
        for key, (message, _) in list(self._moved.items()):
            if _channel_gone(message):
                del self._moved[key]


def _channel_gone(message: AbstractIncomingMessage) -> bool:
    try:
        return message.channel.is_closed
    except aiormq.exceptions.ChannelInvalidStateError:
        return True


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
        self._requeue: AbstractExchange | None = None
        self._starting: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._in_flight: set[asyncio.Task[Any]] = set()
        self.held = Held()
        self._logger_down = False
        self._forward: GroupCommit[bytes, Answer] = GroupCommit(
            self._forward_batch, settings.batch_max, settings.forwards_in_flight
        )

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
            self._requeue = publishing.default_exchange
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

    async def check_progress(self) -> None:
        """For `/ready`: no delivery held without its handling moving for `stuck_after` s."""
        stuck, oldest = self.held.unmoved(self.settings.stuck_after)
        if stuck:
            raise ServiceError(
                503, f"stuck: {stuck} deliveries held without progress for {oldest:.0f} s"
            )

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        self.held.moved(message)
        try:
            await self._handle(message)
        except Exception as exc:
            # A case nothing below foresaw: the message still gets a fate, and the consumer
            # goes on (an escaped error would leave it unacked, holding a prefetch slot).
            log.exception("handling %s failed", message.message_id)
            if not message.processed:
                reason = f"the listener failed on it: {type(exc).__name__}: {exc}"
                await self._dead_letter(message, reason, failures_so_far(message), "error")
        finally:
            self._in_flight.discard(task)
            self.held.ended(message)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        s = self.settings
        failures = failures_so_far(message)
        metrics.consumed(message, retried=failures > 0)
        try:
            entry = log_entry(message, s.max_message_size)
            # The logger records each entry in its own event's trace, even in a batch.
            context: dict[str, str] = {}
            propagate.inject(context)
            if "traceparent" in context:
                entry["traceparent"] = context["traceparent"]
            body = encoded(entry)
        except Poison as exc:
            await self._dead_letter(message, str(exc), failures, exc.kind)
            return
        delay = s.retry_delay
        while True:
            answer = await self._forward.submit(body)
            self.held.moved(message)
            if answer.verdict is Verdict.STORED:
                metrics.stored(message)
                if self._logger_down:
                    self._logger_down = False
                    log.info("the logger at %s answers again", s.logger_url)
                await self._settle(message.ack())
                return
            if answer.verdict is Verdict.REFUSED:
                await self._dead_letter(
                    message, f"the logger refused it: {answer.detail}", failures, "refused"
                )
                return
            if answer.verdict is Verdict.UNAVAILABLE:
                if not self._logger_down:
                    self._logger_down = True
                    log.warning("the logger is unavailable (%s); holding events", answer.detail)
                if await self._pause(delay):
                    await self._settle(message.nack(requeue=True))
                    return
                self.held.moved(message)
                delay = min(delay * 2, s.retry_max_delay)
                continue
            failures += 1
            if failures >= s.max_deliveries:
                reason = f"the logger failed it {failures} times, last: {answer.detail}"
                await self._dead_letter(message, reason, failures, "failed")
                return
            log.warning(
                "forwarding %s failed (%d of %d): %s",
                message.message_id,
                failures,
                s.max_deliveries,
                answer.detail,
            )
            # Later tries wait longer, so a sick logger is not hammered.
            if await self._pause(min(s.retry_delay * 2 ** (failures - 1), s.retry_max_delay)):
                await self._settle(message.nack(requeue=True))
                return
            self.held.moved(message)
            await self._try_again_later(message, failures)
            return

    async def _forward_batch(self, entries: list[bytes]) -> list[Answer]:
        metrics.forwarded(len(entries))
        return await self.logger.write_batch(entries)

    async def _pause(self, seconds: float) -> bool:
        """Sleep, cut short by shutdown; True when shutting down."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _settle(self, settling: Any) -> None:
        """Ack, nack or reject; never raises. On a lost channel the broker redelivers, which
        idempotency absorbs."""
        try:
            await settling
        except Exception as exc:
            log.warning("could not settle a message (it will be redelivered): %r", exc)

    def _copy(
        self, message: AbstractIncomingMessage, headers: dict[str, Any], keep: bool = True
    ) -> aio_pika.Message:
        """The message as published anew, persistent, with `headers` added to its own (or, not
        `keep`ing those, with `headers` alone)."""
        kept = {k: v for k, v in message.headers.items() if k != DELIVERY_COUNT} if keep else {}
        return aio_pika.Message(
            message.body,
            headers={**kept, **headers},
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            # Returns are matched by message id, so a copy needs one even if the original had none.
            message_id=message.message_id or str(uuid.uuid4()),
            timestamp=message.timestamp,
        )

    async def _republish(
        self,
        message: AbstractIncomingMessage,
        exchange: AbstractExchange | None,
        routing_key: str,
        headers: dict[str, Any],
        keep: bool = True,
    ) -> bool:
        """Publish a copy (confirmed) and ack the original; when RabbitMQ does not confirm it,
        requeue the original after `retry_delay` (nothing is dropped, nothing is counted) and
        return False. A copy that cannot be encoded raises, the original still unsettled."""
        assert exchange is not None
        copy = self._copy(message, headers, keep)
        try:
            await amqp.publish_confirmed(
                exchange, copy, shortstr(routing_key), self.settings.confirm_timeout
            )
        except ServiceError as exc:
            log.error("could not republish %s (requeued): %s", message.message_id, exc.message)
            await self._pause(self.settings.retry_delay)
            await self._settle(message.nack(requeue=True))
            return False
        await self._settle(message.ack())
        return True

    async def _try_again_later(self, message: AbstractIncomingMessage, failures: int) -> None:
        """To the back of the queue, carrying its failure count (a copy, then the ack)."""
        headers = {**origin(message), FAILURES_HEADER: failures}
        await self._republish(message, self._requeue, self.settings.queue, headers)

    async def _dead_letter(
        self, message: AbstractIncomingMessage, reason: str, failures: int, kind: str
    ) -> None:
        """Publish a copy to the dead-letter exchange with the reason, then ack the original.
        Never raises: a copy whose own headers cannot be published goes with ours alone; if
        none can be, the original is rejected and the queue's own dead-lettering takes it
        (RabbitMQ's `x-death` header then says `rejected`)."""
        reason = reason[:REASON_MAX]
        first = origin(message)
        headers = {**first, amqp.REASON_HEADER: reason, FAILURES_HEADER: failures}
        # The dead-letter exchange is a fanout: the key need only be a valid one.
        routing_key = first[ORIGINAL_ROUTING_KEY]
        for keep in (True, False):
            try:
                published = await self._republish(message, self._dead, routing_key, headers, keep)
            except Exception as exc:
                log.warning(
                    "could not dead-letter %s %s: %r",
                    message.message_id,
                    "with its headers" if keep else "even without its headers",
                    exc,
                )
                if message.processed:
                    return
                continue
            if published:
                metrics.dead_lettered(kind)
                log.warning(
                    "dead-lettered %s to %s: %s",
                    message.message_id,
                    self.settings.dead_exchange,
                    reason,
                )
            return
        metrics.dead_lettered(kind)
        log.error(
            "rejected %s for RabbitMQ to dead-letter (%s): %s",
            message.message_id,
            self.settings.dead_exchange,
            reason,
        )
        await self._settle(message.reject(requeue=False))

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
