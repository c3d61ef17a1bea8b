"""What the logger's routes use, built once in the lifespan (`app.py`) and reached from here.

Routes take `PartsDep`; the writing ones, `POST /log` and `POST /logs`, call
`parts_of(request)` themselves, so FastAPI has nothing to resolve per write: they are lean
routes (`svckit.lean_routes`).
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from svckit.parts import Part

from logger_service.store import LogStore


@dataclass(frozen=True, slots=True)
class Parts:
    store: LogStore
    # Most bytes one `GET /logs` answer takes (LOGS_ANSWER_MAX).
    logs_answer_max: int


parts_of = Part[Parts]("parts")
PartsDep = Annotated[Parts, Depends(parts_of.dependency)]
