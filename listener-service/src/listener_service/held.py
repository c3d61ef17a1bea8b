"""The deliveries this listener holds (handed to it, not yet settled): what the unacked gauge
and the stuck check of `/ready` read."""

import logging
import time

import aiormq
from aio_pika.abc import AbstractIncomingMessage

log = logging.getLogger(__name__)


class Held:
    """Each delivery held, with when its handling last moved."""

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
