"""`create_app()`: a FastAPI app with everything a service of ours shares."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from svckit import metrics
from svckit.body_limit import BodySizeLimit
from svckit.envelope import Envelope, reply
from svckit.errors import CatchUnexpected, install_error_handlers
from svckit.go_json import JsonWhateverContentType
from svckit.http_telemetry import HttpTelemetry
from svckit.readiness import OK, Readiness

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    title: str,
    *,
    description: str = "",
    lifespan: Lifespan | None = None,
    readiness: Readiness | None = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """The app with the envelope's error handlers, `/ping`, `/ready`, `/metrics`, a server span
    per request (the trace id answered in `X-Trace-Id`), an access line, a body limit, and
    bodies read as JSON whatever their Content-Type (as the Go original did).

    `readiness` holds the service's dependency checks; `app.state.readiness` exposes it so the
    lifespan can add checks once its clients exist.
    """
    app = FastAPI(title=title, description=description, lifespan=lifespan, **fastapi_kwargs)
    app.state.readiness = readiness or Readiness()
    install_error_handlers(app)
    # Innermost first. All of them run inside the server span the instrumentation opens
    # around the whole app, so every log line of a request carries its trace id.
    app.add_middleware(CatchUnexpected)
    app.add_middleware(JsonWhateverContentType)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(HttpTelemetry)
    # Probes and scrapes are not traced: they would be most of every trace store.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="/ping,/ready,/metrics", exclude_spans=["receive", "send"]
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

    @app.get("/metrics", response_class=PlainTextResponse, tags=["probes"])
    async def prometheus_metrics() -> Response:
        """Prometheus' text exposition of this process's metrics."""
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    app.openapi = lambda: _openapi_with_our_errors(app)  # type: ignore[method-assign]
    return app


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
