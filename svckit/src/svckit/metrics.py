"""Prometheus metrics every service shares, named by Prometheus' conventions (units, `_total`).

- `http_server_requests_total` and `http_server_request_duration_seconds` by method, route
  (the template, `/logs`, never the raw path), status;
- `downstream_requests_total` and `downstream_request_duration_seconds` by target, protocol
  (`http`, `jsonrpc`, `gob`, `grpc`, `amqp`, `smtp`) and outcome (`ok`, `error`, `timeout`).

Each service adds its own next to its code. Every metric carries the `service` label, so one
Prometheus query can span services. `/metrics` serves them in the text exposition format.
"""

import contextlib
import time
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from svckit.errors import DownstreamTimeout

_service = "unknown"


def set_service(name: str) -> None:
    """The `service` label of every metric this process reports."""
    global _service
    _service = name
    _http_children.clear()


def service() -> str:
    return _service


HTTP_REQUESTS = Counter(
    "http_server_requests", "HTTP requests answered", ["service", "method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Time from a request's arrival to its answer's start",
    ["service", "method", "route", "status"],
)
DOWNSTREAM_REQUESTS = Counter(
    "downstream_requests",
    "Calls to the services and servers this one depends on",
    ["service", "target", "protocol", "outcome"],
)
DOWNSTREAM_DURATION = Histogram(
    "downstream_request_duration_seconds",
    "Time a call to a dependency took, its deadline included",
    ["service", "target", "protocol", "outcome"],
)


# Each request's pair of children, by (method, route, status): bounded by the routes and
# statuses there are, and it spares every request the library's label checks and its lock.
_http_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def observe_http(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    children = _http_children.get(key)
    if children is None:
        labels = (_service, method, route, str(status))
        children = HTTP_REQUESTS.labels(*labels), HTTP_DURATION.labels(*labels)
        _http_children[key] = children
    children[0].inc()
    children[1].observe(seconds)


class Call:
    """One call being counted; `failed()` marks an answer that came back but was no success."""

    def __init__(self) -> None:
        self.outcome = "ok"

    def failed(self) -> None:
        self.outcome = "error"


@contextlib.contextmanager
def downstream_call(target: str, protocol: str) -> Iterator[Call]:
    """Count and time one call to `target`; an exception leaving it is the call's outcome."""
    started = time.perf_counter()
    call = Call()
    try:
        yield call
    except (DownstreamTimeout, TimeoutError):
        call.outcome = "timeout"
        raise
    except BaseException:
        call.outcome = "error"
        raise
    finally:
        labels = (_service, target, protocol, call.outcome)
        DOWNSTREAM_REQUESTS.labels(*labels).inc()
        DOWNSTREAM_DURATION.labels(*labels).observe(time.perf_counter() - started)


def exposition() -> tuple[bytes, str]:
    """The body and content type of `GET /metrics`."""
    return generate_latest(), CONTENT_TYPE_LATEST
