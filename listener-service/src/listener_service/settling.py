"""A fate carried out: ack, requeue, a copy to the back of the queue, a dead letter. Nothing
here raises out to the consumer; `fate` decides which.

No message's handling leaves it unsettled: should even the dead-letter publish fail, the
message is rejected without requeue and RabbitMQ's own dead-lettering (the queue's
`x-dead-letter-exchange`) takes it.
"""

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage
from svckit import amqp
from svckit.amqp import REASON_HEADER
from svckit.errors import ServiceError

from listener_service import metrics
from listener_service.fate import (
    ORIGINAL_ROUTING_KEY,
    DeadLetter,
    copy_headers,
    dead_letter_headers,
    origin,
    retry_headers,
    shortstr,
)
from listener_service.settings import ListenerSettings

log = logging.getLogger(__name__)

# Sleeps `seconds`, cut short by shutdown; True when shutting down.
Pause = Callable[[float], Awaitable[bool]]


def first_published(message: AbstractIncomingMessage) -> dict[str, str]:
    """`fate.origin` of a delivery."""
    return origin(message.headers, message.exchange, message.routing_key)


class Settling:
    """Settles deliveries of one consuming channel, publishing copies on its own confirmed
    channel (`dead`: the dead-letter exchange; `requeue`: the default exchange)."""

    def __init__(
        self,
        settings: ListenerSettings,
        dead: AbstractExchange,
        requeue: AbstractExchange,
        pause: Pause,
    ) -> None:
        self.settings = settings
        self._dead = dead
        self._requeue = requeue
        self._pause = pause

    async def ack(self, message: AbstractIncomingMessage) -> None:
        await settle(message.ack())

    async def requeue(self, message: AbstractIncomingMessage) -> None:
        await settle(message.nack(requeue=True))

    async def try_again_later(self, message: AbstractIncomingMessage, failures: int) -> None:
        """To the back of the queue, carrying its failure count (a copy, then the ack)."""
        headers = retry_headers(first_published(message), failures)
        await self._republish(message, self._requeue, self.settings.queue, headers)

    async def dead_letter(self, message: AbstractIncomingMessage, fate: DeadLetter) -> None:
        """Publish a copy to the dead-letter exchange with the reason, then ack the original.
        Never raises: a copy whose own headers cannot be published goes with ours alone; if
        none can be, the original is rejected and the queue's own dead-lettering takes it
        (RabbitMQ's `x-death` header then says `rejected`)."""
        headers = dead_letter_headers(first_published(message), fate)
        reason = headers[REASON_HEADER]
        # The dead-letter exchange is a fanout: the key need only be a valid one.
        routing_key = headers[ORIGINAL_ROUTING_KEY]
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
                metrics.dead_lettered(fate.kind)
                log.warning(
                    "dead-lettered %s to %s: %s",
                    message.message_id,
                    self.settings.dead_exchange,
                    reason,
                )
            return
        metrics.dead_lettered(fate.kind)
        log.error(
            "rejected %s for RabbitMQ to dead-letter (%s): %s",
            message.message_id,
            self.settings.dead_exchange,
            reason,
        )
        await settle(message.reject(requeue=False))

    async def _republish(
        self,
        message: AbstractIncomingMessage,
        exchange: AbstractExchange,
        routing_key: str,
        headers: dict[str, Any],
        keep: bool = True,
    ) -> bool:
        """Publish a copy (confirmed) and ack the original; when RabbitMQ does not confirm it,
        requeue the original after `retry_delay` (nothing is dropped, nothing is counted) and
        return False. A copy that cannot be encoded raises, the original still unsettled."""
        copy = _copy(message, copy_headers(message.headers, headers, keep))
        try:
            await amqp.publish_confirmed(
                exchange, copy, shortstr(routing_key), self.settings.confirm_timeout
            )
        except ServiceError as exc:
            log.error("could not republish %s (requeued): %s", message.message_id, exc.message)
            await self._pause(self.settings.retry_delay)
            await self.requeue(message)
            return False
        await self.ack(message)
        return True


def _copy(message: AbstractIncomingMessage, headers: dict[str, Any]) -> aio_pika.Message:
    """The message as published anew, persistent, with `headers`."""
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        # Returns are matched by message id, so a copy needs one even if the original had none.
        message_id=message.message_id or str(uuid.uuid4()),
        timestamp=message.timestamp,
    )


async def settle(settling: Awaitable[Any]) -> None:
    """Ack, nack or reject; never raises. On a lost channel the broker redelivers, which
    idempotency absorbs."""
    try:
        await settling
    except Exception as exc:
        log.warning("could not settle a message (it will be redelivered): %r", exc)
