"""`python -m mail_service`: the HTTP door on PORT (8083)."""

from svckit.serve import run

from mail_service.app import build_app
from mail_service.settings import MailSettings


def main() -> None:
    settings = MailSettings()
    run(build_app(settings), settings, "mail-service")


if __name__ == "__main__":
    main()
