"""`python -m front_end`: serve the test page on PORT (8082)."""

from svckit.serve import run

from front_end.app import build_app
from front_end.settings import FrontEndSettings


def main() -> None:
    settings = FrontEndSettings()
    run(lambda: build_app(settings), settings, "front-end")


if __name__ == "__main__":
    main()
