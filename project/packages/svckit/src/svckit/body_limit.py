"""Refuse request bodies over a limit (1 MiB by default) with 413, before the app reads them."""

import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


async def _drain(receive: Receive, already: int) -> None:
    seen = already
    while seen <= DRAIN_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class BodySizeLimit:
    """Pure ASGI middleware: checks Content-Length up front and counts streamed chunks too."""

    def __init__(self, app: ASGIApp, max_bytes: int = MIB) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            # A client that asked `Expect: 100-continue` (curl does for large bodies) has not
            # sent the body and will not: refuse at once. Any other is sending it: read it first.
            if headers.get(b"expect", b"").lower() != b"100-continue":
                await _drain(receive, 0)
            await self._refuse(send)
            return

        seen = 0
        started = False
        finished = False

        async def limited_receive() -> Message:
            nonlocal seen, finished
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                finished = not message.get("more_body", False)
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
                if seen > self.max_bytes and not finished:
                    finished = True
                    await _drain(receive, seen)
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                if not finished:
                    await _drain(receive, seen)
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"error": True, "message": _message(self.max_bytes)}).encode()
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
