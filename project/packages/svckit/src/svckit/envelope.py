"""The JSON envelope every HTTP answer of the system uses."""

from typing import Any

from fastapi.responses import JSONResponse

_NO_DATA: Any = object()


def envelope(message: str, data: Any = _NO_DATA, *, error: bool = False) -> dict[str, Any]:
    """`{"error", "message", "data"}`; `data` is left out when there is none, as in the original."""
    body: dict[str, Any] = {"error": error, "message": message}
    if data is not _NO_DATA:
        body["data"] = data
    return body


def reply(
    status: int, message: str, data: Any = _NO_DATA, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON response carrying the envelope; `error` follows the status class."""
    return JSONResponse(
        envelope(message, data, error=status >= 400), status_code=status, headers=headers
    )
