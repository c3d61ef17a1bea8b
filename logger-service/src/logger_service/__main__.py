"""`python -m logger_service`: the HTTP, RPC and gRPC doors in one event loop."""

from svckit.serve import run

from logger_service.app import build_app
from logger_service.settings import LoggerSettings


def main() -> None:
    settings = LoggerSettings()
    run(build_app(settings), settings, "logger-service")


if __name__ == "__main__":
    main()
