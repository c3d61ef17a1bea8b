"""`python -m broker_service`: the gateway on PORT (8080)."""

from svckit.serve import run

from broker_service.app import build_app
from broker_service.settings import BrokerSettings


def main() -> None:
    settings = BrokerSettings()
    run(build_app(settings), settings, "broker-service")


if __name__ == "__main__":
    main()
