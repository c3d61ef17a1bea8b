"""What the broker's routes use, built once in the lifespan (`app.py`) and reached from here.

The hot routes (`POST /`, `/handle`, `/log-*`) call `clients_of(request)` themselves, so
FastAPI has no dependency to resolve on each request; the others take `ClientsDep`.
"""

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from broker_service.clients import Clients


def install(app: FastAPI, clients: Clients) -> None:
    app.state.clients = clients


def clients_of(request: Request) -> Clients:
    clients: Clients = request.app.state.clients
    return clients


# Async, so FastAPI calls it in the loop rather than hopping to a worker thread per request.
async def _clients(request: Request) -> Clients:
    return clients_of(request)


ClientsDep = Annotated[Clients, Depends(_clients)]
