"""`python -m logger_service`: the HTTP, RPC and gRPC doors in one event loop."""

from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorServer
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from svckit.serve import run

from logger_service.app import build_app
from logger_service.settings import LoggerSettings


def main() -> None:
    settings = LoggerSettings()
    run(
        lambda: build_app(settings),
        settings,
        "logger-service",
        [PymongoInstrumentor(), GrpcAioInstrumentorServer()],
    )


if __name__ == "__main__":
    main()
