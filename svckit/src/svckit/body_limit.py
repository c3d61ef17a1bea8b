"""The body limit's parts (1 MiB by default): `svckit.edge` refuses a body over it with 413
before the app reads it."""

import json

from fastapi import HTTPException
from starlette.types import Receive, Send

MIB = 1024 * 1024
# How much of a refused body we read and discard so the client sees the 413 rather than a
# connection reset (closing a socket with unread data makes the kernel send RST).
DRAIN_LIMIT = 64 * MIB


class BodyTooLarge(HTTPException):
    """Raised from `receive` mid-body; an HTTPException so FastAPI's body parsing lets it pass."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _message(max_bytes))


def _message(max_bytes: int) -> str:
    return f"request body is larger than {max_bytes} bytes"


async def drain(receive: Receive, already: int) -> None:
    """Read and discard what is left of a refused body (up to `DRAIN_LIMIT`)."""
    seen = already
    while seen <= DRAIN_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def refuse(send: Send, max_bytes: int) -> None:
    """The 413 envelope; the connection closes after it (the client may still be sending)."""
    body = json.dumps({"error": True, "message": _message(max_bytes)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
