"""Run an app under uvicorn: one event loop, JSON logs, graceful shutdown on SIGTERM and Ctrl-C.

Uvicorn turns SIGTERM into: stop accepting, let in-flight requests finish (up to the grace
period), then run the lifespan's shutdown, where each service closes its clients and doors.
"""

from collections.abc import Callable, Iterable

import uvicorn
from fastapi import FastAPI

from svckit import metrics
from svckit.logs import configure_logging
from svckit.settings import ServiceSettings
from svckit.tracing import Instrumentor, configure_tracing


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
    uvicorn.run(
        build(),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_grace,
        server_header=False,
        # X-Forwarded-For only from FORWARDED_ALLOW_IPS (`Forwarded` is never read).
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
