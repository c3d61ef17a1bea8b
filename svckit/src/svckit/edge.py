"""`Edge`: everything a request of ours goes through on its way in and out, in one pure ASGI pass.

Per request, with one wrapper around `send` and none around `receive` when the body's length
is declared:
- the trace id of the request's server span (FastAPI's own OpenTelemetry support opens it
  around the whole app, `svckit.app` says how) answered in `X-Trace-Id`;
- cross-origin browser requests refused (403) before the app sees them, as Go 1.25's
  `http.CrossOriginProtection` refuses them (`cross_origin_refusal` says how);
- the body limit: 413 before the app reads a body declared or streamed over it;
- the body read as JSON whatever its Content-Type (`go_json` says why);
- an exception no handler took: a 500 envelope, logged once, here (Starlette's own handler
  would re-raise it and uvicorn log it again, outside the request's context);
- the request metrics and one access line (method, route, status, duration).

These were four middlewares and OpenTelemetry's ASGI instrumentation, about 0.15 ms a request
between them; the broker's `POST /` is mostly this pass (`project/bench/bench_broker.py`).
"""

import logging
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from svckit import metrics
from svckit.body_limit import MIB, BodyTooLarge, drain, refuse
from svckit.envelope import reply

log = logging.getLogger("svckit.edge")
access = logging.getLogger("access")

TRACE_HEADER = "X-Trace-Id"
_TRACE_HEADER = TRACE_HEADER.lower().encode()
# Probes and scrapes are counted but neither traced (they would be most of every trace store,
# `svckit.app` leaves them out) nor logged at INFO (they would drown the requests).
QUIET_PATHS = frozenset({"/ping", "/ready", "/metrics"})
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# A metric's method label: any other is `_OTHER`, so a caller cannot mint series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_JSON = (b"content-type", b"application/json")
# Methods a browser page may send cross-site without asking (no preflight) that change state.
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def cross_origin_refusal(
    method: str,
    fetch_site: bytes | None,
    origin: bytes | None,
    host: bytes | None,
    trusted: frozenset[bytes],
) -> str | None:
    """Why a request is a cross-origin browser request to refuse, or None to serve it: Go
    1.25's `CrossOriginProtection.Check`, step for step.

    Every Content-Type is read as JSON (`go_json`), so a page anywhere could make its
    visitors' browsers POST `text/plain` here with no preflight, and CORS would only hide the
    answer, not stop the work. Browsers say where a request comes from: `Sec-Fetch-Site`
    (every browser since 2023), else `Origin`. Requests with neither (curl, our services, Go
    clients) are not a browser's on another page's behalf and pass unchanged.
    """
    if method in _SAFE:
        return None
    if fetch_site is not None and fetch_site != b"":
        if fetch_site in (b"same-origin", b"none") or origin in trusted:
            return None
        return "cross-origin request refused: Sec-Fetch-Site is not same-origin"
    if not origin:
        return None
    if host is not None and urlsplit(origin.decode("latin-1")).netloc == host.decode("latin-1"):
        return None
    if origin in trusted:
        return None
    return "cross-origin request refused: Origin does not match Host"


class Edge:
    def __init__(
        self, app: ASGIApp, max_body: int = MIB, trusted_origins: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.max_body = max_body
        # Origins (scheme://host[:port]) whose pages may send unsafe requests cross-origin.
        self.trusted_origins = frozenset(o.encode() for o in trusted_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]
        quiet = scope["path"] in QUIET_PATHS

        # One look at the headers for everything this pass needs from them.
        declared: int | None = None
        expects_continue = False
        has_json_type = False
        # As Go's Header.Get: the first of each.
        fetch_site: bytes | None = None
        origin: bytes | None = None
        host: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = int(value) if value.isdigit() else None
            elif name == b"content-type":
                has_json_type = value == b"application/json"
            elif name == b"expect":
                expects_continue = value.lower() == b"100-continue"
            elif name == b"host":
                host = value if host is None else host
            elif name == b"origin":
                origin = value if origin is None else origin
            elif name == b"sec-fetch-site":
                fetch_site = value if fetch_site is None else fetch_site
        if method in _WITH_BODY and not has_json_type:
            # In place: the outer layers read what the router adds to this scope (its route).
            scope["headers"] = [h for h in scope["headers"] if h[0] != b"content-type"] + [_JSON]

        span = trace.get_current_span()
        trace_id = span.get_span_context().trace_id
        trace_header = format(trace_id, "032x").encode() if trace_id else b""

        status = 500
        response_started = False
        body_seen = 0
        body_done = declared is not None

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started, body_done
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                if body_seen > self.max_body and not body_done:
                    # Answered before the whole body was read: read the rest first, or the
                    # kernel resets the connection and the client never sees the answer.
                    body_done = True
                    await drain(receive, body_seen)
                if trace_header:
                    headers = [*message.get("headers", ()), (_TRACE_HEADER, trace_header)]
                    message = {**message, "headers": headers}
            await send(message)

        app_receive = receive
        if declared is None:
            # Chunked: count what arrives. (A declared length is the server's to enforce.)
            async def counting_receive() -> Message:
                nonlocal body_seen, body_done
                message = await receive()
                if message["type"] == "http.request":
                    body_seen += len(message.get("body", b""))
                    body_done = not message.get("more_body", False)
                    if body_seen > self.max_body:
                        raise BodyTooLarge(self.max_body)
                return message

            app_receive = counting_receive

        refusal = (
            cross_origin_refusal(method, fetch_site, origin, host, self.trusted_origins)
            if fetch_site is not None or origin is not None
            else None
        )
        try:
            if refusal is not None:
                log.info("%s %s: %s", method, scope["path"], refusal)
                await reply(403, refusal)(scope, receive, send_wrapper)
            elif declared is not None and declared > self.max_body:
                # A client that asked `Expect: 100-continue` (curl does for large bodies) has
                # not sent the body and will not: refuse at once. Any other is sending it.
                if not expects_continue:
                    await drain(receive, 0)
                await refuse(send_wrapper, self.max_body)
            else:
                await self.app(scope, app_receive, send_wrapper)
        except BodyTooLarge:
            if not response_started:
                if not body_done:
                    await drain(receive, body_seen)
                    body_done = True
                await refuse(send_wrapper, self.max_body)
        except Exception as exc:
            log.exception("unhandled error in %s %s", method, scope["path"])
            span.record_exception(exc)
            if not response_started:
                await reply(500, "internal error")(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - started
            # The route's template once the router matched one; never the raw path (unbounded).
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self._log(method if method in _METHODS else "_OTHER", route, status, seconds, quiet)

    @staticmethod
    def _log(method: str, route: str, status: int, seconds: float, quiet: bool) -> None:
        metrics.observe_http(method, route, status, seconds)
        level = logging.DEBUG if quiet else logging.INFO
        if access.isEnabledFor(level):
            duration_ms = seconds * 1000
            access.log(
                level,
                "%s %s %d %.1f ms",
                method,
                route,
                status,
                duration_ms,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration_ms, 2),
                },
            )
