"""Structured logging: one JSON object a line, with the service name and the trace and span ids
(the same ids the traces carry, so one search follows a click across every hop)."""

import logging
import sys

from pythonjsonlogger.orjson import OrjsonFormatter

from svckit.tracing import current_ids


class _Context(logging.Filter):
    """Stamps each record with the service and the current trace and span ids."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.trace_id, record.span_id = current_ids()
        return True


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Route every logger (uvicorn's included) to stderr in one format."""
    # Every request writes an access line: skip what no line of ours shows (the caller's
    # source file, thread and process names), as the logging HOWTO's optimization notes say.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Context(service))
    if fmt == "json":
        handler.setFormatter(
            OrjsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(trace_id)s "
                "%(span_id)s",
                rename_fields={"asctime": "time", "levelname": "level"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s [%(trace_id).8s] %(name)s: %(message)s")
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
