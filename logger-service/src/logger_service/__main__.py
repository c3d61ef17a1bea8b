"""`python -m logger_service`: the HTTP, RPC and gRPC doors in one event loop."""

from typing import Any

from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorServer
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from svckit.serve import run

from logger_service.app import build_app
from logger_service.settings import LoggerSettings
from logger_service.store import link_batch


class _Pymongo:
    """PymongoInstrumentor with the hook that links a batch's command to each of its callers."""

    def instrument(self, **kwargs: Any) -> None:
        PymongoInstrumentor().instrument(request_hook=link_batch, **kwargs)


def main() -> None:
    settings = LoggerSettings()
    run(
        lambda: build_app(settings),
        settings,
        "logger-service",
        [_Pymongo(), GrpcAioInstrumentorServer()],
    )


if __name__ == "__main__":
    main()
