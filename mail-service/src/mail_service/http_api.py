"""The HTTP door: `POST /send`; routes only, their parts from `deps`."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from svckit.envelope import Envelope, reply

from mail_service.deps import parts_of
from mail_service.models import SendRequest

router = APIRouter(tags=["mail"])


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
async def send(body: SendRequest, request: Request) -> JSONResponse:
    """Send one `multipart/alternative` mail; 202 `sent to <to>` once the server took it."""
    parts = parts_of(request)
    sender = body.sender or parts.settings.from_address
    mail = await parts.composer.compose_off_loop(sender, body.to, body.subject, body.message)
    await parts.mailer.send(mail, sender, body.to)
    return reply(202, f"sent to {body.to}")
