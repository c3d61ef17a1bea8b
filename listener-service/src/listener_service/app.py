"""The process: a tiny HTTP app (probes only) whose lifespan runs the consumer."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from svckit.app import create_app

from listener_service import metrics
from listener_service.consumer import Listener
from listener_service.logger_client import LoggerClient
from listener_service.settings import ListenerSettings


def build_app(settings: ListenerSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger = LoggerClient(
            settings.logger_url,
            timeout=settings.logger_timeout,
            max_connections=settings.prefetch,
        )
        listener = Listener(settings, logger)
        app.state.readiness.add("rabbitmq", listener.check)
        app.state.readiness.add("consumer", listener.check_progress)
        metrics.watch_unacked(listener.held.count)
        await listener.start()
        try:
            yield
        finally:
            await listener.stop(settings.shutdown_grace)
            await logger.close()

    return create_app(
        "listener-service",
        description="Forwards log events from RabbitMQ to the logger; this port serves probes.",
        lifespan=lifespan,
        settings=settings,
    )
