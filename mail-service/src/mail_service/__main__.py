"""`python -m mail_service`: the HTTP door on PORT (8083)."""

from svckit.serve import run

from mail_service.app import SERVICE, build_app
from mail_service.settings import MailSettings


def main() -> None:
    settings = MailSettings()
    # SMTP has no instrumentation package; the mailer traces its sends by hand.
    run(lambda: build_app(settings), settings, SERVICE)


if __name__ == "__main__":
    main()
