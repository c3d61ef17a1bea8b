"""`python -m listener_service`: the consumer and its probe port in one event loop."""

from svckit.serve import run

from listener_service.app import build_app
from listener_service.settings import Settings


def main() -> None:
    settings = Settings()
    run(build_app(settings), settings, "listener-service")


if __name__ == "__main__":
    main()
