"""The broker's FastAPI app: the shared kit, CORS for the front-end, and the clients' lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from svckit.app import create_app
from svckit.cors import Cors
from svckit.edge import TRACE_HEADER

from broker_service.clients import open_clients
from broker_service.deps import clients_of
from broker_service.http_api import router
from broker_service.settings import BrokerSettings


def build_app(settings: BrokerSettings | None = None) -> FastAPI:
    settings = settings or BrokerSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_clients(settings, app.state.readiness) as clients:
            clients_of.install(app, clients)
            yield

    # As the original's cors.Options, with exact origins (a setting) instead of any http(s)
    # page, and no credentials: nothing here uses cookies.
    cors = Cors(
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["Accept", "Authorization", "Content-Type", "X-CSRF-Token", "traceparent"],
        # The page shows each call's trace id.
        expose_headers=["Link", TRACE_HEADER],
        max_age=300,
    )
    app = create_app(
        "broker-service",
        description="The gateway: auth, mail and the logger over HTTP, net/rpc, gRPC, RabbitMQ.",
        lifespan=lifespan,
        cors=cors,
        settings=settings,
        # The page's origin may POST here from another origin; other pages' visitors may not.
        trusted_origins=settings.cors_origins,
    )
    app.include_router(router)
    return app
