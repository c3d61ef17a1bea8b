"""`python -m logger_service`: the HTTP, RPC and gRPC doors in one event loop."""

from typing import Any

from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorServer
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from svckit import tracing
from svckit.serve import run

from logger_service.app import build_app
from logger_service.settings import LoggerSettings
from logger_service.store import link_batch


class _Pymongo:
    """PymongoInstrumentor with the hook that links a batch's command to each of its callers,
    where spans are recorded: a store's spans carry nothing downstream."""

    def instrument(self, **kwargs: Any) -> None:
        if tracing.mode() is tracing.Mode.SPANS:
            PymongoInstrumentor().instrument(request_hook=link_batch, **kwargs)


class _GrpcServer:
    """OpenTelemetry's gRPC server instrumentation where spans are recorded; otherwise the
    door's own `grpc_server.TraceIds` keeps the ids without a span."""

    def instrument(self, **kwargs: Any) -> None:
        if tracing.mode() is tracing.Mode.SPANS:
            GrpcAioInstrumentorServer().instrument(**kwargs)


def main() -> None:
    settings = LoggerSettings()
    run(
        lambda: build_app(settings),
        settings,
        "logger-service",
        [_Pymongo(), _GrpcServer()],
    )


if __name__ == "__main__":
    main()
