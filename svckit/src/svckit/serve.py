"""Run an app under uvicorn: one event loop, JSON logs, graceful shutdown on SIGTERM and Ctrl-C.

Uvicorn turns SIGTERM into: stop accepting, let in-flight requests finish (up to the grace
period), then run the lifespan's shutdown, where each service closes its clients and doors.
The loop is uvloop's and the HTTP parser httptools' (both with `uvicorn[standard]`), named
rather than left to uvicorn's fallback, so a missing one fails at start instead of slowing
every request.
"""

import contextlib
import gc
import socket
import sys
from collections.abc import Callable, Iterable
from typing import Any

import uvicorn
from fastapi import FastAPI

from svckit import metrics
from svckit.http_limits import limited_protocol
from svckit.logs import configure_logging
from svckit.settings import ServiceSettings
from svckit.tracing import Instrumentor, configure_tracing


def config(app: FastAPI, settings: ServiceSettings, **overrides: Any) -> uvicorn.Config:
    """uvicorn's configuration for `app`: the door's limits and trust from `settings`."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": settings.shutdown_grace,
        "server_header": False,
        # X-Forwarded-For only from FORWARDED_ALLOW_IPS: the edge applies it (`svckit.edge`),
        # in its one pass, rather than uvicorn's own layer.
        "proxy_headers": False,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "loop": "uvloop",
        # httptools with the header and body deadlines and the header size bound it lacks.
        "http": limited_protocol(
            max_header_bytes=settings.max_header_bytes,
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
        ),
        "limit_concurrency": settings.limit_concurrency,
        "timeout_keep_alive": settings.keep_alive_timeout,
    }
    return uvicorn.Config(app, **(options | overrides))


class Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # What start-up made (modules, the app, its clients) lives as long as the process: out
        # of the collector's sight, a full collection no longer walks it.
        gc.freeze()


def run(
    build: Callable[[], FastAPI],
    settings: ServiceSettings,
    service: str,
    instrumentors: Iterable[Instrumentor] = (),
) -> None:
    """Serve the app `build()` makes, once logging, metrics and tracing are set up for
    `service` (its compose name) with the instrumentation packages given: they patch the
    client and server classes, so the app's clients must be made after them."""
    configure_logging(service, settings.log_level, settings.log_format)
    metrics.set_service(service)
    configure_tracing(service, instrumentors)
    server = Server(config(build(), settings))
    # As uvicorn.run: Ctrl-C is a normal stop; a server that never started exits non-zero.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(3)
