"""The listener's own figures: messages consumed, stored, redelivered and dead-lettered, and the
time from the broker's publish to the logger's stored answer."""

import time
from collections.abc import Callable

from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import Counter, Gauge, Histogram
from svckit.amqp import PUBLISHED_AT_HEADER
from svckit.metrics import service

CONSUMED = Counter("listener_messages_consumed", "Deliveries taken from the queue", ["service"])
STORED = Counter("listener_messages_stored", "Messages the logger stored (then acked)", ["service"])
REDELIVERED = Counter(
    "listener_messages_redelivered",
    "Deliveries of a message seen before: redelivered by RabbitMQ, or a retried copy",
    ["service"],
)
DEAD_LETTERED = Counter(
    "listener_messages_dead_lettered",
    "Messages sent to the dead-letter queue, by reason: too_large, not_json, refused (by the "
    "logger), failed (by the logger, MAX_DELIVERIES times), error (the listener's own)",
    ["service", "reason"],
)
UNACKED = Gauge(
    "listener_deliveries_unacked",
    "Deliveries this listener holds: handed to it by RabbitMQ and not settled yet",
    ["service"],
)
FORWARDED = Histogram(
    "listener_forward_batch_size",
    "Entries per forward to the logger: the deliveries that waited while one was in flight",
    ["service"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000),
)
LAG = Histogram(
    "listener_publish_to_stored_seconds",
    "Time from the broker's publish to the logger's answer that the entry is stored",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


def consumed(message: AbstractIncomingMessage, retried: bool) -> None:
    CONSUMED.labels(service()).inc()
    if message.redelivered or retried:
        REDELIVERED.labels(service()).inc()


def stored(message: AbstractIncomingMessage) -> None:
    STORED.labels(service()).inc()
    published_ms = message.headers.get(PUBLISHED_AT_HEADER)
    if isinstance(published_ms, int) and not isinstance(published_ms, bool):
        LAG.labels(service()).observe(max(0.0, time.time() - published_ms / 1000))
    elif message.timestamp is not None:
        # A publisher of ours stamps its own header; the AMQP timestamp is whole seconds.
        LAG.labels(service()).observe(max(0.0, time.time() - message.timestamp.timestamp()))


def dead_lettered(reason: str) -> None:
    DEAD_LETTERED.labels(service(), reason).inc()


def watch_unacked(count: Callable[[], int]) -> None:
    """The gauge reads `count` at each scrape."""
    UNACKED.labels(service()).set_function(count)


def forwarded(entries: int) -> None:
    FORWARDED.labels(service()).observe(entries)
