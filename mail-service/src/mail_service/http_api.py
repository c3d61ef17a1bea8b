"""The HTTP door: `POST /send`, plus `/ping` and `/ready` from svckit."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from svckit.app import create_app
from svckit.envelope import reply

from mail_service.composer import Composer
from mail_service.models import Reply, SendRequest
from mail_service.settings import MailSettings
from mail_service.smtp_client import MailServer


def _composer(request: Request) -> Composer:
    composer: Composer = request.app.state.composer
    return composer


def _mail_server(request: Request) -> MailServer:
    server: MailServer = request.app.state.mail_server
    return server


def build_app(settings: MailSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server = MailServer(settings)
        app.state.mail_server = server
        app.state.composer = Composer(settings.mail_domain, settings.from_name)
        app.state.readiness.add("smtp", server.check)
        try:
            yield
        finally:
            await server.close()

    app = create_app(
        "mail-service",
        description="Renders a message into text and HTML mail and sends it over SMTP.",
        lifespan=lifespan,
    )

    @app.post(
        "/send",
        status_code=202,
        tags=["mail"],
        response_model=Reply,
        responses={
            400: {"model": Reply, "description": "a field is missing or not valid"},
            502: {"model": Reply, "description": "the mail server refused or cannot be reached"},
            504: {"model": Reply, "description": "the mail server did not answer in time"},
        },
    )
    async def send(
        body: SendRequest,
        composer: Annotated[Composer, Depends(_composer)],
        mail_server: Annotated[MailServer, Depends(_mail_server)],
    ) -> JSONResponse:
        """Send one `multipart/alternative` mail; 202 `sent to <to>` once the server took it."""
        sender = body.sender or settings.from_address
        message = composer.compose(sender, body.to, body.subject, body.message)
        await mail_server.send(message, sender, body.to)
        return reply(202, f"sent to {body.to}")

    return app
