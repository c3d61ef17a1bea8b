"""Structured logging: one JSON object a line, carrying the service name and the request id."""

import logging
import sys

from asgi_correlation_id import CorrelationIdFilter
from pythonjsonlogger.json import JsonFormatter


class _ServiceName(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        return True


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Route every logger (uvicorn's included) to stderr in one format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ServiceName(service))
    handler.addFilter(CorrelationIdFilter(uuid_length=32, default_value="-"))
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(correlation_id)s",
                rename_fields={
                    "asctime": "time",
                    "levelname": "level",
                    "correlation_id": "request_id",
                },
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)-7s [%(correlation_id)s] %(name)s: %(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Third-party chatter at INFO would drown the service's own lines.
    for noisy in ("aio_pika", "aiormq", "pymongo", "httpx", "httpcore", "mail.log"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
