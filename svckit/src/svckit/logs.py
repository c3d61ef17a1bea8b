"""Structured logging: one JSON object a line, with the service name and the trace and span ids
(the same ids the traces carry, so one search follows a click across every hop)."""

import logging
import sys
import time
from typing import TextIO

import orjson
from pythonjsonlogger.orjson import OrjsonFormatter

from svckit.tracing import current_ids

access = logging.getLogger("access")
# In the JSON format, where the access lines go straight (`log_access`); None: through logging.
_access_stream: TextIO | None = None
_service = "-"


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
    global _access_stream, _service
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Context(service))
    _service, _access_stream = service, sys.stderr if fmt == "json" else None
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


def log_access(method: str, route: str, status: int, seconds: float, quiet: bool) -> None:
    """One access line: INFO, or DEBUG for a probe or a scrape (`quiet`).

    In the JSON format the line is the one `logging` would write (same fields, same order),
    made with one `orjson.dumps` and written to the stream: a request's line skipped
    logging's record, filter and formatter, a fifth of the broker's time per `POST /`."""
    level = logging.DEBUG if quiet else logging.INFO
    if not access.isEnabledFor(level):
        return
    duration_ms = seconds * 1000
    message = f"{method} {route} {status} {duration_ms:.1f} ms"
    if _access_stream is None:
        access.log(
            level,
            message,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(duration_ms, 2),
            },
        )
        return
    trace_id, span_id = current_ids()
    line = {
        "time": _asctime(time.time()),
        "level": logging.getLevelName(level),
        "name": "access",
        "message": message,
        "service": _service,
        "trace_id": trace_id,
        "span_id": span_id,
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(duration_ms, 2),
    }
    _access_stream.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE).decode())


_second: tuple[int, str] = (-1, "")


def _asctime(now: float) -> str:
    """`logging.Formatter`'s default time (local, `2026-12-05 07:06:49,990`), its text
    made once a second."""
    global _second
    whole = int(now)
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(whole)))
    return f"{_second[1]},{int((now - whole) * 1000):03d}"
