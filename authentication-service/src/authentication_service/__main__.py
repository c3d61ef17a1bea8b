"""`python -m authentication_service`: serve `/authenticate` on PORT (8081)."""

from svckit.serve import run

from authentication_service.app import build_app
from authentication_service.settings import AuthSettings


def main() -> None:
    settings = AuthSettings()
    run(build_app(settings), settings, "authentication-service")


if __name__ == "__main__":
    main()
