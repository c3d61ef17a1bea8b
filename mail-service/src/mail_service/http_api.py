"""The HTTP door: `POST /send`; routes only, the composer and the SMTP client live in the app."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from svckit.envelope import Envelope, reply

from mail_service.composer import Composer
from mail_service.models import SendRequest
from mail_service.settings import MailSettings
from mail_service.smtp_client import MailServer

router = APIRouter(tags=["mail"])


# `async`: FastAPI would run a plain `def` dependency in its thread pool, a hop per request.
async def _settings(request: Request) -> MailSettings:
    settings: MailSettings = request.app.state.settings
    return settings


async def _composer(request: Request) -> Composer:
    composer: Composer = request.app.state.composer
    return composer


async def _mail_server(request: Request) -> MailServer:
    server: MailServer = request.app.state.mail_server
    return server


@router.post(
    "/send",
    status_code=202,
    response_model=Envelope,
    responses={
        400: {"model": Envelope, "description": "a field is missing or not valid"},
        502: {"model": Envelope, "description": "the mail server refused or cannot be reached"},
        504: {"model": Envelope, "description": "the mail server did not answer in time"},
    },
)
async def send(
    body: SendRequest,
    settings: Annotated[MailSettings, Depends(_settings)],
    composer: Annotated[Composer, Depends(_composer)],
    mail_server: Annotated[MailServer, Depends(_mail_server)],
) -> JSONResponse:
    """Send one `multipart/alternative` mail; 202 `sent to <to>` once the server took it."""
    sender = body.sender or settings.from_address
    mail = await composer.compose_off_loop(sender, body.to, body.subject, body.message)
    await mail_server.send(mail, sender, body.to)
    return reply(202, f"sent to {body.to}")
