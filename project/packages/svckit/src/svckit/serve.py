"""Run an app under uvicorn: one event loop, JSON logs, graceful shutdown on SIGTERM and Ctrl-C.

Uvicorn turns SIGTERM into: stop accepting, let in-flight requests finish (up to the grace
period), then run the lifespan's shutdown, where each service closes its clients and doors.
"""

import uvicorn
from fastapi import FastAPI

from svckit.logs import configure_logging
from svckit.settings import ServiceSettings


def run(app: FastAPI, settings: ServiceSettings, service: str) -> None:
    configure_logging(service, settings.log_level, settings.log_format)
    uvicorn.run(
        app,
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
