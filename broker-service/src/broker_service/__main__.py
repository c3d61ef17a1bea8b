"""`python -m broker_service`: the gateway on PORT (8080)."""

from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient
from svckit.serve import run

from broker_service.app import build_app
from broker_service.settings import BrokerSettings


def main() -> None:
    settings = BrokerSettings()
    run(
        lambda: build_app(settings),
        settings,
        "broker-service",
        [GrpcAioInstrumentorClient(), AioPikaInstrumentor()],
    )


if __name__ == "__main__":
    main()
