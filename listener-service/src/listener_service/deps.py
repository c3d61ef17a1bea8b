"""The listener's parts, built once in the lifespan: the logger client and the consumer.

No route takes one (this port serves the kit's probes only), so unlike the other services'
`deps.py` there is no `Annotated` alias to give them by; the consumer reaches `/ready` through
the checks it registers.
"""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from svckit.parts import Part
from svckit.readiness import Readiness

from listener_service import metrics
from listener_service.consumer import Listener
from listener_service.logger_client import LoggerClient
from listener_service.settings import ListenerSettings


@dataclass(frozen=True)
class Parts:
    logger: LoggerClient
    listener: Listener


# Stored like every service's parts (tests and a debugger find them there).
parts_of = Part[Parts]("parts")


@contextlib.asynccontextmanager
async def open_parts(settings: ListenerSettings, readiness: Readiness) -> AsyncIterator[Parts]:
    """The client and the consumer, its checks registered; consuming starts in the background
    (RabbitMQ is waited for), and stops within SHUTDOWN_GRACE at the end."""
    logger = LoggerClient(
        settings.logger_url, timeout=settings.logger_timeout, max_connections=settings.prefetch
    )
    listener = Listener(settings, logger)
    readiness.add("rabbitmq", listener.check)
    readiness.add("consumer", listener.check_progress)
    metrics.watch_unacked(listener.held.count)
    await listener.start()
    try:
        yield Parts(logger, listener)
    finally:
        await listener.stop(settings.shutdown_grace)
        await logger.close()
