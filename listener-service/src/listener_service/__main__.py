"""`python -m listener_service`: the consumer and its probe port in one event loop."""

from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor
from svckit.serve import run

from listener_service.app import build_app
from listener_service.settings import ListenerSettings


def main() -> None:
    settings = ListenerSettings()
    run(
        lambda: build_app(settings),
        settings,
        "listener-service",
        [AioPikaInstrumentor()],
    )


if __name__ == "__main__":
    main()
