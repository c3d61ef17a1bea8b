"""`Edge`: everything a request of ours goes through on its way in and out, in one pure ASGI pass.

The app's whole middleware stack is this pass, FastAPI's exception handlers and the router
(`svckit.app` leaves out the framework's layers that would do the same work again). Per
request, with one wrapper around `send` and none around `receive` when the body's length is
declared:
- the client address and scheme from `X-Forwarded-For`/`-Proto`, from our proxies only
  (`svckit.client_address`: uvicorn's rule, whose own layer is off);
- the trace: without spans to record, the request's trace and span ids made here (the caller's
  trace continued from `traceparent`, `svckit.tracing.ids_context`); with them, FastAPI's own
  OpenTelemetry support opens the server span around the whole app. The trace id is answered
  in `X-Trace-Id`;
- cross-origin browser requests refused (403) before the app sees them, as Go 1.25's
  `http.CrossOriginProtection` refuses them (`cross_origin_refusal` says how); CORS
  (`svckit.cors`) where the service allows a page of another origin;
- the body limit: 413 before the app reads a body declared or streamed over it
  (`svckit.body_limit.BodyGuard`);
- the body read as JSON whatever its Content-Type (`go_json` says why);
- an exception no handler took: a 500 envelope, logged once, here (Starlette's own handler
  would re-raise it and uvicorn log it again, outside the request's context);
- the request metrics and one access line (method, route, status, duration).
"""

import logging
import time
from collections.abc import Iterable
from contextvars import Token
from urllib.parse import urlsplit

from opentelemetry import context, trace
from opentelemetry.context import Context
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from svckit import metrics, tracing
from svckit.body_limit import MIB, BodyGuard, BodyTooLarge
from svckit.client_address import TrustedProxies
from svckit.cors import Cors, Header, with_headers
from svckit.envelope import reply
from svckit.logs import log_access

log = logging.getLogger("svckit.edge")

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
_PROPAGATION = frozenset(name.encode() for name in tracing.PROPAGATION_HEADERS)


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


class RequestHead:
    """What the edge needs of a request's headers, found in one look at them (the first of
    each, as Go's `Header.Get`)."""

    __slots__ = (
        "declared",
        "expects_continue",
        "fetch_site",
        "forwarded_for",
        "forwarded_proto",
        "has_json_type",
        "host",
        "origin",
        "preflight_method",
        "propagation",
    )

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.declared: int | None = None
        self.expects_continue = False
        self.has_json_type = False
        self.fetch_site: bytes | None = None
        self.origin: bytes | None = None
        self.host: bytes | None = None
        self.preflight_method = False
        self.forwarded_for: list[bytes] = []
        self.forwarded_proto: bytes | None = None
        self.propagation: dict[str, str] = {}
        for name, value in headers:
            if name == b"content-length":
                self.declared = int(value) if value.isdigit() else None
            elif name == b"content-type":
                self.has_json_type = value == b"application/json"
            elif name == b"host":
                self.host = value if self.host is None else self.host
            elif name in _PROPAGATION:
                key = name.decode()
                # Repeated fields are one list (RFC 9110, 5.3), as the propagators read them.
                text = value.decode("latin-1")
                seen = self.propagation.get(key)
                self.propagation[key] = text if seen is None else f"{seen},{text}"
            elif name == b"origin":
                self.origin = value if self.origin is None else self.origin
            elif name == b"sec-fetch-site":
                self.fetch_site = value if self.fetch_site is None else self.fetch_site
            elif name == b"expect":
                self.expects_continue = value.lower() == b"100-continue"
            elif name == b"access-control-request-method":
                self.preflight_method = True
            elif name == b"x-forwarded-for":
                self.forwarded_for.append(value)
            elif name == b"x-forwarded-proto":
                self.forwarded_proto = value


class Answer:
    """The `send` the app answers through: notes the status, drains a refused body before the
    answer starts, and adds the trace and CORS headers."""

    __slots__ = ("_guard", "_headers", "_send", "started", "status")

    def __init__(self, send: Send, guard: BodyGuard, headers: list[Header]) -> None:
        self._send = send
        self._guard = guard
        self._headers = headers
        self.status = 500
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.started = True
            await self._guard.before_answer()
            if self._headers:
                headers = with_headers(list(message.get("headers", ())), self._headers)
                message = {**message, "headers": headers}
        await self._send(message)


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        max_body: int = MIB,
        trusted_origins: Iterable[str] = (),
        forwarded_allow_ips: str | list[str] = "127.0.0.1",
        cors: Cors | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        # Origins (scheme://host[:port]) whose pages may send unsafe requests cross-origin.
        self.trusted_origins = frozenset(o.encode() for o in trusted_origins)
        self.proxies = TrustedProxies(forwarded_allow_ips)
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]
        head = RequestHead(scope["headers"])
        self._rewrite(scope, method, head)
        token, trace_id = self._enter_trace(scope, head)
        preflight = self._is_preflight(method, head)
        # A preflight's answer is CORS's own; any other gains CORS's headers as it leaves.
        headers = self.cors.headers(head.origin) if self.cors and not preflight else []
        if trace_id:
            headers.append((_TRACE_HEADER, format(trace_id, "032x").encode()))
        guard = BodyGuard(receive, self.max_body, head.declared)
        answer = Answer(send, guard, headers)
        try:
            await self._serve(scope, method, head, guard, answer, preflight)
        except BodyTooLarge:
            if not answer.started:
                await guard.refuse(answer)
        except Exception as exc:
            log.exception("unhandled error in %s %s", method, scope["path"])
            trace.get_current_span().record_exception(exc)  # where spans are recorded
            if not answer.started:
                await reply(500, "internal error")(scope, receive, answer)
        finally:
            seconds = time.perf_counter() - started
            # The route's template once the router matched one; never the raw path (unbounded).
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            label = method if method in _METHODS else "_OTHER"
            metrics.observe_http(label, route, answer.status, seconds)
            log_access(label, route, answer.status, seconds, scope["path"] in QUIET_PATHS)
            if token is not None:
                context.detach(token)

    def _rewrite(self, scope: Scope, method: str, head: RequestHead) -> None:
        """The scope as the app should see it. In place: the outer layers read what the router
        adds to this scope (its route)."""
        if method in _WITH_BODY and not head.has_json_type:
            scope["headers"] = [h for h in scope["headers"] if h[0] != b"content-type"] + [_JSON]
        if head.forwarded_for or head.forwarded_proto is not None:
            self.proxies.rewrite(scope, head.forwarded_for, head.forwarded_proto)

    def _is_preflight(self, method: str, head: RequestHead) -> bool:
        return (
            self.cors is not None
            and method == "OPTIONS"
            and head.origin is not None
            and head.preflight_method
        )

    @staticmethod
    def _enter_trace(scope: Scope, head: RequestHead) -> tuple[Token[Context] | None, int]:
        """The request's trace id, and the context token to detach when the ids are ours."""
        mode = tracing.mode()
        if mode is tracing.Mode.IDS and scope["path"] not in QUIET_PATHS:
            served, trace_id = tracing.ids_context(head.propagation)
            return context.attach(served), trace_id
        if mode is tracing.Mode.SPANS:
            return None, trace.get_current_span().get_span_context().trace_id
        return None, 0

    async def _serve(
        self,
        scope: Scope,
        method: str,
        head: RequestHead,
        guard: BodyGuard,
        answer: Answer,
        preflight: bool,
    ) -> None:
        refusal = (
            cross_origin_refusal(
                method, head.fetch_site, head.origin, head.host, self.trusted_origins
            )
            if head.fetch_site is not None or head.origin is not None
            else None
        )
        if refusal is not None:
            log.info("%s %s: %s", method, scope["path"], refusal)
            await reply(403, refusal)(scope, guard.app_receive, answer)
        elif guard.too_large:
            await guard.refuse(answer, head.expects_continue)
        elif preflight:
            assert self.cors is not None
            await self.cors.preflight(scope)(scope, guard.app_receive, answer)
        else:
            await self.app(scope, guard.app_receive, answer)
