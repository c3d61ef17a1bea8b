"""The broker's routes: thin handlers that pick a downstream and shape its answer."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from svckit.client_address import client_address
from svckit.envelope import Envelope, reply

from broker_service.clients import Clients
from broker_service.models import (
    AuthAction,
    AuthPayload,
    HandleRequest,
    LogAction,
    LogPayload,
    LogRequest,
    MailPayload,
)
from broker_service.rpc_client import log_info

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Envelope, "description": "the body is malformed or a field is wrong"},
    502: {"model": Envelope, "description": "a downstream refused or failed"},
    503: {"model": Envelope, "description": "a downstream is busy (Retry-After) or unavailable"},
    504: {"model": Envelope, "description": "a downstream did not answer in time"},
}

router = APIRouter(responses=_ERRORS)


# `async`: FastAPI would run a plain `def` dependency in its thread pool, a hop per request.
async def _clients(request: Request) -> Clients:
    clients: Clients = request.app.state.clients
    return clients


ClientsDep = Annotated[Clients, Depends(_clients)]


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
async def handle(payload: HandleRequest, request: Request, clients: ClientsDep) -> JSONResponse:
    """Dispatch on `action`: `auth`, `log` (over Go's net/rpc, as the original) or `mail`."""
    body = payload.root
    if isinstance(body, AuthAction):
        return await _authenticate(clients, body.auth, client_address(request))
    if isinstance(body, LogAction):
        return await _log_rpc(clients, body.log)
    return await _send_mail(clients, body.mail)


@router.post("/log-grpc", status_code=202, response_model=Envelope)
async def log_grpc(payload: LogRequest, clients: ClientsDep) -> JSONResponse:
    """Write `log` through the logger's gRPC door."""
    entry = payload.log
    await clients.grpc.write_log(entry.name, entry.data)
    return reply(202, "logged")


@router.post("/log-http", status_code=202, response_model=Envelope)
async def log_http(payload: LogRequest, clients: ClientsDep) -> JSONResponse:
    """Write `log` through the logger's HTTP `/log`."""
    entry = payload.log
    await clients.logger.post("/log", {"name": entry.name, "data": entry.data})
    return reply(202, "logged")


@router.post("/log-rpc", status_code=202, response_model=Envelope)
async def log_rpc(payload: LogRequest, clients: ClientsDep) -> JSONResponse:
    """Write `log` through the logger's net/rpc door, as the `log` action does."""
    return await _log_rpc(clients, payload.log)


@router.post("/log-rabbit", status_code=202, response_model=Envelope)
async def log_rabbit(payload: LogRequest, clients: ClientsDep) -> JSONResponse:
    """Publish `log` to RabbitMQ as `log.<level>`; answers once RabbitMQ confirmed it."""
    entry = payload.log
    message_id = await clients.rabbit.publish(
        f"log.{payload.level_or_default()}", {"name": entry.name, "data": entry.data}
    )
    return reply(202, "logged via RabbitMQ", {"message_id": message_id})


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


async def _log_rpc(clients: Clients, entry: LogPayload) -> JSONResponse:
    return reply(202, await log_info(clients.rpc, entry.name, entry.data))


async def _send_mail(clients: Clients, mail: MailPayload) -> JSONResponse:
    await clients.mail.post(
        "/send",
        {"from": mail.from_, "to": mail.to, "subject": mail.subject, "message": mail.message},
    )
    return reply(202, f"Message sent to {mail.to}")
