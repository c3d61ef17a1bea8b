"""The process: a tiny HTTP app (probes only) whose lifespan runs the consumer."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from svckit.app import create_app

from listener_service.deps import open_parts, parts_of
from listener_service.settings import ListenerSettings


def build_app(settings: ListenerSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_parts(settings, app.state.readiness) as parts:
            parts_of.install(app, parts)
            yield

    return create_app(
        "listener-service",
        description="Forwards log events from RabbitMQ to the logger; this port serves probes.",
        lifespan=lifespan,
        settings=settings,
    )
