"""`python -m authentication_service`: serve `/authenticate` on PORT (8081)."""

from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from svckit.serve import run

from authentication_service.app import build_app
from authentication_service.settings import AuthSettings


def main() -> None:
    settings = AuthSettings()
    run(
        lambda: build_app(settings),
        settings,
        "authentication-service",
        [AsyncPGInstrumentor()],
    )


if __name__ == "__main__":
    main()
