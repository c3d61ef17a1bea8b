"""`python -m mailcatcher`: SMTP on CATCHER_SMTP_PORT (1025), HTTP on CATCHER_HTTP_PORT (8025)."""

import logging

import uvicorn

from mailcatcher.http_api import build_app
from mailcatcher.settings import CatcherSettings
from mailcatcher.store import MessageStore

log = logging.getLogger("mailcatcher")


def main() -> None:
    settings = CatcherSettings()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = build_app(settings, MessageStore(settings.max_messages))
    log.info(
        "catching mail: SMTP on %s:%d, page and MailHog API on http://%s:%d/",
        settings.host,
        settings.smtp_port,
        settings.host,
        settings.http_port,
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
