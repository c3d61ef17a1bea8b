"""`python -m listener_service`: the consumer and its probe port in one event loop."""

from svckit.serve import run

from listener_service.app import build_app
from listener_service.settings import ListenerSettings


def main() -> None:
    settings = ListenerSettings()
    run(build_app(settings), settings, "listener-service")


if __name__ == "__main__":
    main()
