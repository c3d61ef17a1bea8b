"""The queue consumer: each event forwarded to the logger, acknowledged only once it is stored.

Each delivery becomes a log entry (`log_entry`), goes to the logger with the others waiting
(`forwarding`), and meets its own fate by its own entry's answer: `fate` decides it, purely,
and `settling` carries it out. The queue and its dead letters are declared by `topology`; the
deliveries held are counted by `held`.

No message's handling raises out of the consumer: a body over `max_message_size`, JSON that
is invalid, not UTF-8 or nested too deep, and any error nothing here foresaw dead-letter the
message with its reason.
"""

import asyncio
import logging
from typing import Any

import aiormq
import orjson
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from opentelemetry import propagate
from svckit import amqp, contract
from svckit.backoff import retry_forever
from svckit.contract import log_body
from svckit.errors import ServiceError

from listener_service import fate, metrics, topology
from listener_service.fate import Poison
from listener_service.forwarding import Forwarder
from listener_service.held import Held
from listener_service.logger_client import LoggerClient
from listener_service.settings import ListenerSettings
from listener_service.settling import Settling

log = logging.getLogger(__name__)


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


class Listener:
    """One robust connection: a consuming channel and a channel for the copies it publishes."""

    def __init__(self, settings: ListenerSettings, logger: LoggerClient) -> None:
        self.settings = settings
        self.logger = logger
        self.held = Held()
        self._forwarder = Forwarder(logger, settings)
        self._backoff = fate.Backoff(settings.retry_delay, settings.retry_max_delay)
        self._settling: Settling | None = None
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._starting: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._in_flight: set[asyncio.Task[Any]] = set()

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
            queue = await topology.declare(channel, s)
            # Its own channel, so a failed dead-letter publish never closes the consuming one.
            publishing = await connection.channel(publisher_confirms=True, on_return_raises=True)
            # Set before consuming: the first deliveries may need it before consume() returns.
            self._settling = Settling(
                s,
                dead=await publishing.get_exchange(s.dead_exchange, ensure=False),
                requeue=publishing.default_exchange,
                pause=self._pause,
            )
            tag = await queue.consume(self._on_message)
        except BaseException:
            await connection.close()
            raise
        self._connection, self._channel, self._queue = connection, channel, queue
        self._consumer_tag = tag
        log.info(
            "consuming %s (bound to %s on %s), forwarding to %s",
            s.queue,
            ", ".join(contract.LOG_ROUTING_KEYS),
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
        assert self._settling is not None
        self._in_flight.add(task)
        self.held.moved(message)
        try:
            await self._handle(message, self._settling)
        except Exception as exc:
            # A case nothing below foresaw: the message still gets a fate, and the consumer
            # goes on (an escaped error would leave it unacked, holding a prefetch slot).
            log.exception("handling %s failed", message.message_id)
            if not message.processed:
                failures = fate.failures_so_far(message.headers)
                await self._settling.dead_letter(message, fate.unforeseen(exc, failures))
        finally:
            self._in_flight.discard(task)
            self.held.ended(message)

    async def _handle(self, message: AbstractIncomingMessage, settling: Settling) -> None:
        failures = fate.failures_so_far(message.headers)
        metrics.consumed(message, retried=failures > 0)
        try:
            entry = log_entry(message, self.settings.max_message_size)
            # The logger records each entry in its own event's trace, even in a batch.
            context: dict[str, str] = {}
            propagate.inject(context)
            if "traceparent" in context:
                entry["traceparent"] = context["traceparent"]
            body = encoded(entry)
        except Poison as exc:
            await settling.dead_letter(message, fate.poisoned(exc, failures))
            return
        holds = self._backoff.holds()
        while True:
            answer = await self._forwarder.submit(body)
            self.held.moved(message)
            step = fate.decide(answer, failures, self.settings.max_deliveries)
            if isinstance(step, fate.Ack):
                metrics.stored(message)
                await settling.ack(message)
                return
            if isinstance(step, fate.DeadLetter):
                await settling.dead_letter(message, step)
                return
            if isinstance(step, fate.Hold):
                if await self._pause(next(holds)):
                    await settling.requeue(message)
                    return
                self.held.moved(message)
                continue
            log.warning(
                "forwarding %s failed (%d of %d): %s",
                message.message_id,
                step.failures,
                self.settings.max_deliveries,
                answer.detail,
            )
            if await self._pause(self._backoff.after(step.failures)):
                await settling.requeue(message)
                return
            self.held.moved(message)
            await settling.try_again_later(message, step.failures)
            return

    async def _pause(self, seconds: float) -> bool:
        """Sleep, cut short by shutdown; True when shutting down."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

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
