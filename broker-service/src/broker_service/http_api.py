"""The broker's routes: thin handlers that pick a downstream and shape its answer.

The hot routes (`POST /`, `/handle`, `/log-*`) reach the clients through `deps.clients_of`,
not a FastAPI dependency: nothing to resolve per request.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from svckit.client_address import client_address
from svckit.envelope import Envelope, reply

from broker_service.clients import Clients
from broker_service.deps import ClientsDep, clients_of
from broker_service.models import (
    AuthAction,
    AuthPayload,
    HandleRequest,
    LogAction,
    LogRequest,
    MailPayload,
)
from broker_service.sinks import DOORS, Door, Logged

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Envelope, "description": "the body is malformed or a field is wrong"},
    502: {"model": Envelope, "description": "a downstream refused or failed"},
    503: {"model": Envelope, "description": "a downstream is busy (Retry-After) or unavailable"},
    504: {"model": Envelope, "description": "a downstream did not answer in time"},
}

router = APIRouter(responses=_ERRORS)


def _answer(logged: Logged) -> JSONResponse:
    if logged.data is None:
        return reply(202, logged.message)
    return reply(202, logged.message, logged.data)


@router.post("/", response_model=Envelope, summary="Hit the broker (any or no body)")
async def hit() -> JSONResponse:
    return reply(200, "Hit the broker")


@router.post(
    "/handle",
    status_code=202,
    response_model=Envelope,
    responses={
        401: {"model": Envelope, "description": "invalid credentials"},
        429: {"model": Envelope, "description": "too many failed logins (Retry-After)"},
    },
)
async def handle(payload: HandleRequest, request: Request) -> JSONResponse:
    """Dispatch on `action`: `auth`, `log` (over Go's `net/rpc`, as the original) or `mail`."""
    body = payload.root
    clients = clients_of(request)
    if isinstance(body, AuthAction):
        return await _authenticate(clients, body.auth, client_address(request))
    if isinstance(body, LogAction):
        return _answer(await clients.sinks["rpc"].write(body.log))
    return await _send_mail(clients, body.mail)


def _log_route(door: Door) -> Callable[[LogRequest, Request], Awaitable[JSONResponse]]:
    async def log_through(payload: LogRequest, request: Request) -> JSONResponse:
        sink = clients_of(request).sinks[door]
        return _answer(await sink.write(payload.log, payload.level_or_default()))

    return log_through


for _sink in DOORS:
    router.add_api_route(
        f"/log-{_sink.door}",
        _log_route(_sink.door),
        methods=["POST"],
        name=f"log_{_sink.door}",
        description=_sink.__doc__,
        status_code=202,
        response_model=Envelope,
    )


@router.get("/logs", response_model=Envelope)
async def logs(
    clients: ClientsDep,
    name: Annotated[str | None, Query(description="only entries with this name")] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=500, description="at most this many, newest first")
    ] = None,
) -> JSONResponse:
    """The logger's newest entries (its `GET /logs`), for the front-end's log view."""
    params = {"name": name, "limit": None if limit is None else str(limit)}
    answer = await clients.logger.get("/logs", {k: v for k, v in params.items() if v is not None})
    return reply(200, answer.message, answer.data)


async def _authenticate(clients: Clients, auth: AuthPayload, client: str) -> JSONResponse:
    # The auth service limits failed logins per client; it believes this header from us only.
    answer = await clients.auth.post(
        "/authenticate",
        {"email": auth.email, "password": auth.password},
        headers={"X-Forwarded-For": client},
    )
    return reply(202, "Authenticated!", answer.data)


async def _send_mail(clients: Clients, mail: MailPayload) -> JSONResponse:
    await clients.mail.post(
        "/send",
        {"from": mail.from_, "to": mail.to, "subject": mail.subject, "message": mail.message},
    )
    return reply(202, f"Message sent to {mail.to}")
