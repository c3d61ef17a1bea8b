"""The body limit's parts (1 MiB by default): `svckit.edge` refuses a body over it with 413
before the app reads it."""

import json

from fastapi import HTTPException
from starlette.types import Message, Receive, Send

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


class BodyGuard:
    """One request's body against the limit, as the edge serves it.

    A declared length over the limit is refused before the app runs (`too_large`); a chunked
    body is counted as the app reads it (`receive` raises `BodyTooLarge` past the limit). An
    answer given before a refused body was all read drains the rest first (`before_answer`):
    closing a socket with unread data makes the kernel reset it, and the client would never
    see the answer. A declared length needs no counting: the server enforces it.
    """

    __slots__ = ("_receive", "declared", "done", "max_body", "seen")

    def __init__(self, receive: Receive, max_body: int, declared: int | None) -> None:
        self._receive = receive
        self.max_body = max_body
        self.declared = declared
        self.seen = 0
        self.done = declared is not None

    @property
    def app_receive(self) -> Receive:
        """What the app reads the body with: `receive` itself when the length is declared."""
        return self._receive if self.declared is not None else self._counting_receive

    @property
    def too_large(self) -> bool:
        return self.declared is not None and self.declared > self.max_body

    async def _counting_receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            self.done = not message.get("more_body", False)
            if self.seen > self.max_body:
                raise BodyTooLarge(self.max_body)
        return message

    async def before_answer(self) -> None:
        if self.seen > self.max_body and not self.done:
            await self._drain()

    async def refuse(self, send: Send, client_waits: bool = False) -> None:
        """The 413, after draining what is left of the body. A client that declared too much
        and waits for `100 Continue` before sending it (curl does, for large bodies) has sent
        nothing and will not: no draining then."""
        if self.too_large:
            if not client_waits:
                await drain(self._receive, 0)
        elif not self.done:
            await self._drain()
        await refuse(send, self.max_body)

    async def _drain(self) -> None:
        self.done = True
        await drain(self._receive, self.seen)
