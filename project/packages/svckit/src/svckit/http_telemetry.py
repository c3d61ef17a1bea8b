"""Per request, in one pure ASGI pass: the trace id in the answer (`X-Trace-Id`), the request
metrics and one structured access line (method, route, status, duration).

It runs inside the OpenTelemetry server span (FastAPI's instrumentation wraps the whole app),
so the trace id is the request's own: continued from an incoming `traceparent`, else new.
"""

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from svckit import metrics
from svckit.tracing import current_ids

log = logging.getLogger("access")

TRACE_HEADER = "X-Trace-Id"
_TRACE_HEADER = TRACE_HEADER.lower().encode()
# Probes and scrapes are counted but not logged at INFO: they would drown the requests.
QUIET_PATHS = frozenset({"/ping", "/ready", "/metrics"})


class HttpTelemetry:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        trace_id, _ = current_ids()
        status = 500

        async def send_with_trace_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if trace_id != "-":
                    headers = [*message.get("headers", ()), (_TRACE_HEADER, trace_id.encode())]
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace_id)
        finally:
            seconds = time.perf_counter() - started
            # The route's template once the router matched one; never the raw path (unbounded).
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            metrics.observe_http(method, route, status, seconds)
            level = logging.DEBUG if scope["path"] in QUIET_PATHS else logging.INFO
            if log.isEnabledFor(level):
                log.log(
                    level,
                    "%s %s %d %.1f ms",
                    method,
                    route,
                    status,
                    seconds * 1000,
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                    },
                )
