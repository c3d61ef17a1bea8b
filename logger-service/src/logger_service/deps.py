"""What the logger's routes use, built once in the lifespan (`app.py`) and reached from here.

Routes take `PartsDep`; the hottest, `POST /log`, calls `parts_of(request)` itself, so FastAPI
has no dependency to resolve on each write.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from logger_service.store import LogStore


@dataclass(frozen=True, slots=True)
class Parts:
    store: LogStore
    # Most bytes one `GET /logs` answer takes (LOGS_ANSWER_MAX).
    logs_answer_max: int


def install(app: FastAPI, parts: Parts) -> None:
    app.state.parts = parts


def parts_of(request: Request) -> Parts:
    parts: Parts = request.app.state.parts
    return parts


# Async, so FastAPI calls it in the loop rather than hopping to a worker thread per request.
async def _parts(request: Request) -> Parts:
    return parts_of(request)


PartsDep = Annotated[Parts, Depends(_parts)]
