"""`python -m mail_service`: the HTTP door on PORT (8083)."""

from svckit.serve import run

from mail_service.app import build_app
from mail_service.settings import MailSettings


def main() -> None:
    settings = MailSettings()
    # Its compose name (and the original's): mailer-service. SMTP has no instrumentation
    # package; the client's send is traced by hand (smtp_client).
    run(lambda: build_app(settings), settings, "mailer-service")


if __name__ == "__main__":
    main()
