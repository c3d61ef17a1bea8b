"""What the broker's routes use, built once in the lifespan (`app.py`) and reached from here.

The hot routes (`POST /`, `/handle`, `/log-*`) call `clients_of(request)` themselves, so
FastAPI has no dependency to resolve on each request; the others take `ClientsDep`.
"""

from typing import Annotated

from fastapi import Depends
from svckit.parts import Part

from broker_service.clients import Clients

clients_of = Part[Clients]("clients")
ClientsDep = Annotated[Clients, Depends(clients_of.dependency)]
