"""The mail service as one process: the app, and the lifespan that builds its parts."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from svckit.app import create_app

from mail_service.composer import Composer
from mail_service.deps import Parts, parts_of
from mail_service.http_api import router
from mail_service.mailer import Mailer
from mail_service.settings import MailSettings
from mail_service.smtp_check import SmtpCheck
from mail_service.smtp_pool import SmtpPool

# Its compose name (and the original's): its logs, metrics and traces carry it.
SERVICE = "mailer-service"


def build_app(settings: MailSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = SmtpPool(settings)
        smtp = SmtpCheck(pool, settings)
        composer = Composer(settings.mail_domain, settings.from_name)
        parts_of.install(app, Parts(settings, composer, Mailer(pool, settings)))
        app.state.readiness.add("smtp", smtp.check)
        try:
            yield
        finally:
            await smtp.close()
            await pool.close()
            composer.close()

    app = create_app(
        SERVICE,
        description="Renders a message into text and HTML mail and sends it over SMTP.",
        lifespan=lifespan,
        settings=settings,
    )
    app.include_router(router)
    return app
