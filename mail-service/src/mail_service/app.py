"""The mail service as one process: the app, and the lifespan that opens its SMTP client."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from svckit.app import create_app

from mail_service.composer import Composer
from mail_service.http_api import router
from mail_service.settings import MailSettings
from mail_service.smtp_client import MailServer


def build_app(settings: MailSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server = MailServer(settings)
        app.state.settings = settings
        app.state.mail_server = server
        composer = Composer(settings.mail_domain, settings.from_name)
        app.state.composer = composer
        app.state.readiness.add("smtp", server.check)
        try:
            yield
        finally:
            await server.close()
            composer.close()

    app = create_app(
        "mail-service",
        description="Renders a message into text and HTML mail and sends it over SMTP.",
        lifespan=lifespan,
        settings=settings,
    )
    app.include_router(router)
    return app
