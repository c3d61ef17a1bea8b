"""The JSON envelope every HTTP answer of the system uses, as data and as its OpenAPI schema."""

from typing import Any, Generic, TypeVar

import orjson
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

DataT = TypeVar("DataT")

_NO_DATA: Any = object()


class Envelope(BaseModel, Generic[DataT]):
    """`{"error", "message", "data"}`; `Envelope[T]` documents a `data` of type T.

    Handlers answer with `reply()`; this model is what every service's OpenAPI shows.
    """

    error: bool = Field(description="true for every 4xx and 5xx answer")
    message: str = Field(description="what happened, for a person to read")
    data: DataT | None = Field(default=None, description="present when there is data")


def envelope(message: str, data: Any = _NO_DATA, *, error: bool = False) -> dict[str, Any]:
    """`{"error", "message", "data"}`; `data` is left out when there is none, as in the original."""
    body: dict[str, Any] = {"error": error, "message": message}
    if data is not _NO_DATA:
        body["data"] = data
    return body


class EnvelopeResponse(JSONResponse):
    """JSON by orjson: the same compact UTF-8 as Starlette's, in a tenth of the time."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def reply(
    status: int, message: str, data: Any = _NO_DATA, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON response carrying the envelope; `error` follows the status class."""
    return EnvelopeResponse(
        envelope(message, data, error=status >= 400), status_code=status, headers=headers
    )
