"""`create_app()`: a FastAPI app with everything a service of ours shares."""

import ipaddress
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.telemetry import TelemetryConfig
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from svckit import metrics, tracing
from svckit.cors import Cors
from svckit.edge import QUIET_PATHS, Edge
from svckit.envelope import Envelope, reply
from svckit.errors import install_error_handlers
from svckit.lean_routes import LeanRoute, LeanRoutes, add_lean_routes
from svckit.readiness import OK, Readiness
from svckit.settings import ServiceSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

# FastAPI's own OpenTelemetry support, where spans are recorded (`tracing.Mode.SPANS`): one
# server span per request (named by its route, with the stable HTTP conventions), continued
# from `traceparent`. Otherwise the edge makes the ids and no span (`App.__call__`). Its spans
# around each dependency, endpoint and serialization would triple a trace's size for nothing a
# reader needs; the metrics are Prometheus' (`svckit.metrics`); logs are ours.
TELEMETRY: TelemetryConfig = {
    "tracing": True,
    "operation_spans": False,
    "metrics": False,
    "logs": False,
    # Probes and scrapes: they would be most of every trace store.
    "exclude": lambda scope: scope.get("path") in QUIET_PATHS,
}


class App(FastAPI):
    """FastAPI with only the layers our edge does not already do.

    FastAPI's stack is its OpenTelemetry pass, Starlette's error layer (a 500 for an exception
    no handler took), its exception-telemetry and body-limit layers, the app's middleware, the
    exception handlers' layer and an exit stack; ours is the app's middleware (the edge first:
    the 500 envelope, the body limit and the trace are its) and the last two. A 500 or
    `Exception` handler, if one is added, gets Starlette's error layer back, inside the edge.

    The routes of an included router that need nothing of FastAPI per request but their body
    are served by `svckit.lean_routes`, right inside the edge.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lean_routes: dict[tuple[str, str], LeanRoute] = {}

    def include_router(self, router: Any, *args: Any, **kwargs: Any) -> None:
        earlier = list(self.router.routes)
        super().include_router(router, *args, **kwargs)
        # Dependencies or a body limit given to the include apply to its routes: FastAPI's.
        if not args and kwargs.keys() <= {"prefix", "tags", "responses"}:
            add_lean_routes(
                self.lean_routes,
                earlier,
                list(router.routes),
                kwargs.get("prefix", ""),
                self.exception_handlers,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and tracing.mode() is not tracing.Mode.SPANS:
            # No span to open: the edge makes the ids. (The rest of FastAPI's own `__call__`.)
            if self.root_path:
                scope["root_path"] = self.root_path
            await Starlette.__call__(self, scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        handlers = dict(self.exception_handlers)
        error_handler = handlers.pop(500, None) or handlers.pop(Exception, None)
        handlers.pop(Exception, None)
        errors = (
            [Middleware(ServerErrorMiddleware, handler=error_handler, debug=self.debug)]
            if error_handler is not None
            else []
        )
        middleware = [
            *self.user_middleware,
            Middleware(LeanRoutes, routes=self.lean_routes),
            *errors,
            Middleware(ExceptionMiddleware, handlers=handlers, debug=self.debug),
            # FastAPI's handlers expect it (it closes uploaded files).
            Middleware(AsyncExitStackMiddleware),
        ]
        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(middleware):
            app = cls(app, *args, **kwargs)
        return app


def create_app(
    title: str,
    *,
    description: str = "",
    lifespan: Lifespan | None = None,
    readiness: Readiness | None = None,
    settings: ServiceSettings | None = None,
    trusted_origins: Iterable[str] = (),
    cors: Cors | None = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """The app with the envelope's error handlers, `/ping`, `/ready`, `/metrics`, a server span
    per request (the trace id answered in `X-Trace-Id`), an access line, a body limit, and
    bodies read as JSON whatever their Content-Type (as the Go original did).

    `readiness` holds the service's dependency checks; `app.state.readiness` exposes it so the
    lifespan can add checks once its clients exist. Middleware passed as `middleware=` runs
    inside the edge, so its answers are traced, counted and logged too.
    `settings` (the environment's when not given) say who may read `/metrics` and which peers'
    X-Forwarded-For to believe; `trusted_origins` are the pages that may send unsafe requests
    cross-origin (the broker's CORS origins), every other browser request from another origin
    is refused with 403; `cors` (the broker's) lets those pages read the answers.
    """
    settings = settings or ServiceSettings()
    metrics_networks = settings.metrics_networks()
    app = App(
        title=title,
        description=description,
        lifespan=lifespan,
        telemetry=TELEMETRY,
        **fastapi_kwargs,
    )
    app.state.readiness = readiness or Readiness()
    install_error_handlers(app)
    # The outermost of the app's middleware: every log line of a request carries its trace id.
    app.add_middleware(
        Edge,
        trusted_origins=trusted_origins,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        cors=cors,
    )

    @app.get("/ping", response_class=PlainTextResponse, tags=["probes"])
    @app.head("/ping", response_class=PlainTextResponse, include_in_schema=False)
    async def ping() -> str:
        """Liveness: answers `.` while the process serves."""
        return "."

    @app.get(
        "/ready",
        tags=["probes"],
        response_model=Envelope[dict[str, str]],
        responses={503: {"model": Envelope[dict[str, str]], "description": "a dependency fails"}},
    )
    async def ready() -> JSONResponse:
        """200 when every dependency answers within 1 s, else 503 naming the one that fails."""
        report = await app.state.readiness.report()
        failing = [name for name, state in report.items() if state != OK]
        if failing:
            detail = "; ".join(f"{name}: {report[name]}" for name in failing)
            return reply(503, f"not ready: {detail}", report)
        return reply(200, "ready", report)

    if metrics_networks != []:

        @app.get("/metrics", response_class=PlainTextResponse, tags=["probes"])
        async def prometheus_metrics(request: Request) -> Response:
            """Prometheus' text exposition of this process's metrics, to the networks in
            `METRICS_ALLOW_IPS` (by default loopback and the private ones)."""
            if metrics_networks is not None and not _within(request, metrics_networks):
                return reply(403, "metrics are not served to this address")
            body, content_type = metrics.exposition()
            return Response(body, media_type=content_type)

    app.openapi = lambda: _openapi_with_our_errors(app)  # type: ignore[method-assign]
    return app


def _within(
    request: Request, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    """Whether the client (as FORWARDED_ALLOW_IPS made it) is in one of `networks`."""
    if request.client is None:
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _openapi_with_our_errors(app: FastAPI) -> dict[str, Any]:
    """FastAPI documents validation errors as 422; ours answer 400 with the envelope."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Envelope", Envelope.model_json_schema())
    envelope_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None:
                responses["400"] = {
                    "description": "malformed JSON, not an object, or a field of the wrong type",
                    "content": envelope_ref,
                }
                responses["413"] = {"description": "body over the limit", "content": envelope_ref}
    # FastAPI's 422 models, now referenced by nothing.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = schema
    return schema
