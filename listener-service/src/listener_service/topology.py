"""What the listener declares on RabbitMQ at start (idempotently): the logs exchange, the
dead letters, and its durable queue bound to every log routing key."""

from typing import Any

from aio_pika.abc import AbstractChannel, AbstractQueue
from svckit import amqp, contract

from listener_service.settings import ListenerSettings


def queue_arguments(settings: ListenerSettings) -> dict[str, Any]:
    # No `x-delivery-limit`: it counts returns, not failures (see `fate`'s docstring).
    return {
        # Replicated and fsynced.
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": settings.dead_exchange,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


async def declare(channel: AbstractChannel, settings: ListenerSettings) -> AbstractQueue:
    """The queue to consume, declared with everything it routes from and dead-letters to."""
    logs = await amqp.declare_logs_exchange(channel, settings.exchange)
    await amqp.declare_dead_letters(channel, settings.dead_exchange, settings.dead_queue)
    queue = await channel.declare_queue(
        settings.queue, durable=True, arguments=queue_arguments(settings)
    )
    for key in contract.LOG_ROUTING_KEYS:
        await queue.bind(logs, key)
    return queue
