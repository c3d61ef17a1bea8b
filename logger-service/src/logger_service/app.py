"""The logger as one process: the HTTP app whose lifespan opens the store and the other doors."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from svckit.app import create_app
from svckit.backoff import retry_forever

from logger_service.deps import Parts, parts_of
from logger_service.grpc_server import GrpcServer
from logger_service.http_api import router
from logger_service.rpc_server import Limits, RpcServer
from logger_service.settings import LoggerSettings
from logger_service.store import LogStore

log = logging.getLogger(__name__)


def build_app(settings: LoggerSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            store = LogStore(
                settings.mongo_url,
                settings.mongo_database,
                timeout=settings.mongo_timeout,
                username=settings.mongo_username,
                password=(
                    settings.mongo_password.get_secret_value() if settings.mongo_password else None
                ),
                batch_max=settings.write_batch_max,
                writes_in_flight=settings.writes_in_flight,
                journal=settings.mongo_journal,
            )
            stack.push_async_callback(store.close)
            parts_of.install(app, Parts(store, settings.logs_answer_max))
            app.state.readiness.add("mongodb", store.ping)

            # In the background, so the doors open and /ready says 503 while MongoDB is away.
            preparing = asyncio.create_task(retry_forever("mongodb", store.prepare))
            stack.callback(preparing.cancel)

            limits = Limits(
                max_connections=settings.rpc_max_connections,
                max_per_address=settings.rpc_max_connections_per_address,
                idle_timeout=settings.rpc_idle_timeout,
                read_timeout=settings.rpc_read_timeout,
                max_buffered=settings.rpc_max_buffered,
                write_timeout=settings.rpc_write_timeout,
            )
            rpc = RpcServer(
                store,
                settings.host,
                settings.rpc_port,
                grace=settings.shutdown_grace,
                limits=limits,
            )
            grpc_door = GrpcServer(
                store,
                settings.host,
                settings.grpc_port,
                health_interval=settings.health_interval,
                grace=settings.shutdown_grace,
                max_concurrent_rpcs=settings.grpc_max_concurrent_rpcs,
                reflection=settings.grpc_reflection,
            )
            await rpc.start()
            stack.push_async_callback(rpc.stop)
            await grpc_door.start()
            stack.push_async_callback(grpc_door.stop)
            log.info(
                "logger-service: HTTP on %d, RPC on %d, gRPC on %d, database %r",
                settings.port,
                rpc.port,
                grpc_door.port,
                settings.mongo_database,
            )
            yield

    app = create_app(
        "logger-service",
        description=(
            "Stores log entries in MongoDB; HTTP here, Go net/rpc (gob, jsonrpc) and gRPC beside."
        ),
        lifespan=lifespan,
        settings=settings,
    )
    app.include_router(router)
    return app
